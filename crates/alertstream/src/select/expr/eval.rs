//! Evaluating a compiled expression on one alert, reading its decoded
//! record in place (no value tree is built): SQL's three-valued logic, where
//! a field a schema version lacks is NULL.

use super::compile::{Arith, Cmp, Func, Lit, Node, Quantifier};
use super::fields::{neutral, Resolver};
use crate::model::alert::Alert;
use crate::model::value::{Datum, Value};
use std::borrow::Cow;

/// A value met while evaluating.
#[derive(Debug, Clone)]
pub enum Scalar<'a> {
    Null,
    Bool(bool),
    Int(i64),
    Float(f64),
    Str(Cow<'a, str>),
    /// An array field (its items are read by `len`, `any`, `all`, `count`).
    Array(Datum<'a>),
    /// A record, map or bytes: only tested for NULL.
    Other(&'static str),
}

impl Scalar<'_> {
    pub fn kind(&self) -> &'static str {
        match self {
            Scalar::Null => "null",
            Scalar::Bool(_) => "boolean",
            Scalar::Int(_) => "integer",
            Scalar::Float(_) => "number",
            Scalar::Str(_) => "string",
            Scalar::Array(_) => "array",
            Scalar::Other(kind) => kind,
        }
    }

    fn number(&self) -> Option<f64> {
        match self {
            Scalar::Int(i) => Some(*i as f64),
            Scalar::Float(f) => Some(*f),
            _ => None,
        }
    }
}

/// A value from the record.
pub fn scalar(d: Datum<'_>) -> Scalar<'_> {
    match d.value() {
        Value::Null => Scalar::Null,
        Value::Boolean(b) => Scalar::Bool(b),
        Value::Int(i) => Scalar::Int(i.into()),
        Value::Long(i) => Scalar::Int(i),
        Value::Float(f) => Scalar::Float(f.into()),
        Value::Double(f) => Scalar::Float(f),
        Value::String(_) | Value::Enum { .. } => d
            .as_str()
            .map_or(Scalar::Null, |s| Scalar::Str(Cow::Borrowed(s))),
        Value::Array(_) => Scalar::Array(d),
        Value::Record { .. } => Scalar::Other("record"),
        Value::Map(_) => Scalar::Other("map"),
        Value::Bytes(_) | Value::Fixed(_) => Scalar::Other("bytes"),
    }
}

/// Two values that cannot meet, named (the field or literal, and its type).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Mismatch(pub String);

type Evaluated<'a> = Result<Scalar<'a>, Mismatch>;

/// Evaluates `node` for `alert`; `now_mjd` is what `now()` gives.
pub struct Eval<'a, 'r> {
    pub alert: &'a Alert,
    pub resolver: &'r Resolver,
    pub now_mjd: f64,
    /// Item scopes of `any`/`all`/`count`, innermost last.
    pub items: Vec<Datum<'a>>,
}

impl<'a> Eval<'a, '_> {
    pub fn eval(&mut self, node: &Node) -> Evaluated<'a> {
        Ok(match node {
            Node::Lit(lit) => literal(lit),
            Node::Path(i) => self.path(*i),
            Node::Not(e) => match truth(&self.eval(e)?, || self.describe(e))? {
                Some(b) => Scalar::Bool(!b),
                None => Scalar::Null,
            },
            Node::And(a, b) => self.connective(a, b, false)?,
            Node::Or(a, b) => self.connective(a, b, true)?,
            Node::Compare(op, a, b) => {
                let (x, y) = (self.eval(a)?, self.eval(b)?);
                match compare(&x, &y) {
                    Ok(Some(ordering)) => Scalar::Bool(holds(*op, ordering)),
                    Ok(None) => match (&x, &y) {
                        (Scalar::Null, _) | (_, Scalar::Null) => Scalar::Null,
                        // NaN compares false, as IEEE says.
                        _ => Scalar::Bool(*op == Cmp::Ne),
                    },
                    Err(()) => return Err(self.mismatch(a, &x, b, &y)),
                }
            }
            Node::Arith(op, a, b) => {
                let (x, y) = (self.eval(a)?, self.eval(b)?);
                arith(*op, &x, &y).ok_or_else(|| self.mismatch(a, &x, b, &y))?
            }
            Node::Neg(e) => match self.eval(e)? {
                Scalar::Null => Scalar::Null,
                Scalar::Int(i) => Scalar::Int(i.wrapping_neg()),
                Scalar::Float(f) => Scalar::Float(-f),
                other => return Err(self.not_a_number(e, &other)),
            },
            Node::Between {
                expr,
                low,
                high,
                negated,
            } => {
                let ge = Node::Compare(Cmp::Ge, expr.clone(), low.clone());
                let le = Node::Compare(Cmp::Le, expr.clone(), high.clone());
                let both = self.eval(&Node::And(Box::new(ge), Box::new(le)))?;
                negate_if(both, *negated)
            }
            Node::In {
                expr,
                list,
                negated,
            } => {
                let x = self.eval(expr)?;
                if matches!(x, Scalar::Null) {
                    return Ok(Scalar::Null);
                }
                let mut unknown = false;
                let mut found = false;
                for item in list {
                    let y = self.eval(item)?;
                    match compare(&x, &y) {
                        Ok(Some(std::cmp::Ordering::Equal)) => {
                            found = true;
                            break;
                        }
                        Ok(Some(_)) => {}
                        Ok(None) => unknown |= matches!(y, Scalar::Null),
                        Err(()) => return Err(self.mismatch(expr, &x, item, &y)),
                    }
                }
                match (found, unknown) {
                    (true, _) => Scalar::Bool(!negated),
                    (false, true) => Scalar::Null,
                    (false, false) => Scalar::Bool(*negated),
                }
            }
            Node::Like {
                expr,
                pattern,
                negated,
            } => match self.eval(expr)? {
                Scalar::Null => Scalar::Null,
                Scalar::Str(s) => Scalar::Bool(pattern.is_match(&s) != *negated),
                other => {
                    return Err(Mismatch(format!(
                        "{} is {}, and LIKE compares strings",
                        self.describe(expr),
                        other.kind()
                    )))
                }
            },
            Node::IsNull { expr, negated } => {
                // NaN is missing too, as pandas reads it.
                let null = match self.eval(expr)? {
                    Scalar::Null => true,
                    Scalar::Float(f) => f.is_nan(),
                    _ => false,
                };
                Scalar::Bool(null != *negated)
            }
            Node::Call(func, args) => self.call(*func, args)?,
            Node::Quantified {
                quantifier,
                array,
                condition,
            } => self.quantified(*quantifier, *array, condition)?,
        })
    }

    /// AND (`decisive` false) and OR (`decisive` true), three-valued: the
    /// decisive value on either side wins, two others give the other
    /// value, anything else is NULL. `b` is not evaluated when `a` decides.
    fn connective(&mut self, a: &Node, b: &Node, decisive: bool) -> Evaluated<'a> {
        let x = truth(&self.eval(a)?, || self.describe(a))?;
        if x == Some(decisive) {
            return Ok(Scalar::Bool(decisive));
        }
        let y = truth(&self.eval(b)?, || self.describe(b))?;
        Ok(match (x, y) {
            (_, Some(v)) if v == decisive => Scalar::Bool(decisive),
            (Some(_), Some(_)) => Scalar::Bool(!decisive),
            _ => Scalar::Null,
        })
    }

    fn path(&self, index: usize) -> Scalar<'a> {
        let path = self.resolver.path(index);
        for item in self.items.iter().rev() {
            if let Some(d) = walk(*item, path) {
                self.resolver.mark_found(index);
                return scalar(d);
            }
        }
        // In an item's scope, a bare name is the item's field (NULL when it
        // lacks it); a dotted path the item lacks reads the alert.
        if !self.items.is_empty() && path.len() == 1 {
            return Scalar::Null;
        }
        match self.resolver.in_alert(index, self.alert) {
            Some(d) => scalar(d),
            None => match path {
                [name] => neutral(name, self.alert).unwrap_or(Scalar::Null),
                _ => Scalar::Null,
            },
        }
    }

    fn call(&mut self, func: Func, args: &[Node]) -> Evaluated<'a> {
        let number = |this: &mut Self, i: usize| -> Result<Option<f64>, Mismatch> {
            match this.eval(&args[i])? {
                Scalar::Null => Ok(None),
                x => x
                    .number()
                    .map(Some)
                    .ok_or_else(|| this.not_a_number(&args[i], &x)),
            }
        };
        Ok(match func {
            Func::Now => Scalar::Float(self.now_mjd),
            Func::Abs => match self.eval(&args[0])? {
                Scalar::Int(i) => Scalar::Int(i.wrapping_abs()),
                Scalar::Float(f) => Scalar::Float(f.abs()),
                Scalar::Null => Scalar::Null,
                other => return Err(self.not_a_number(&args[0], &other)),
            },
            Func::Sqrt => number(self, 0)?.map_or(Scalar::Null, |x| Scalar::Float(x.sqrt())),
            Func::Log10 => number(self, 0)?.map_or(Scalar::Null, |x| Scalar::Float(x.log10())),
            Func::Coalesce => {
                for arg in args {
                    let x = self.eval(arg)?;
                    if !matches!(x, Scalar::Null) {
                        return Ok(x);
                    }
                }
                Scalar::Null
            }
            Func::Len => match self.eval(&args[0])? {
                Scalar::Array(d) => Scalar::Int(d.array_len().unwrap_or(0) as i64),
                Scalar::Str(s) => Scalar::Int(s.chars().count() as i64),
                Scalar::Null => Scalar::Null,
                other => {
                    return Err(Mismatch(format!(
                        "{} is {}, and len() takes an array or a string",
                        self.describe(&args[0]),
                        other.kind()
                    )))
                }
            },
            Func::Lower | Func::Upper => match self.eval(&args[0])? {
                Scalar::Str(s) if func == Func::Lower => Scalar::Str(Cow::Owned(s.to_lowercase())),
                Scalar::Str(s) => Scalar::Str(Cow::Owned(s.to_uppercase())),
                Scalar::Null => Scalar::Null,
                other => {
                    return Err(Mismatch(format!(
                        "{} is {}, and lower()/upper() take a string",
                        self.describe(&args[0]),
                        other.kind()
                    )))
                }
            },
        })
    }

    fn quantified(
        &mut self,
        quantifier: Quantifier,
        array: usize,
        condition: &Node,
    ) -> Evaluated<'a> {
        let items = match self.path(array) {
            Scalar::Array(d) => d,
            Scalar::Null => return Ok(Scalar::Null),
            other => {
                return Err(Mismatch(format!(
                    "{} is {}, where an array was expected",
                    self.resolver.path(array).join("."),
                    other.kind()
                )))
            }
        };
        let (mut any_true, mut all_true, mut count, mut unknown) = (false, true, 0i64, false);
        for item in items.items() {
            self.items.push(item);
            let value = self.eval(condition);
            self.items.pop();
            match truth(&value?, || self.describe(condition))? {
                Some(true) => {
                    any_true = true;
                    count += 1;
                }
                Some(false) => all_true = false,
                None => unknown = true,
            }
        }
        Ok(match quantifier {
            Quantifier::Count => Scalar::Int(count),
            Quantifier::Any if any_true => Scalar::Bool(true),
            Quantifier::Any if unknown => Scalar::Null,
            Quantifier::Any => Scalar::Bool(false),
            Quantifier::All if !all_true => Scalar::Bool(false),
            Quantifier::All if unknown => Scalar::Null,
            Quantifier::All => Scalar::Bool(true),
        })
    }

    /// How an operand reads in messages: its field path, or its literal.
    fn describe(&self, node: &Node) -> String {
        match node {
            Node::Path(i) => self.resolver.path(*i).join("."),
            Node::Lit(Lit::Str(s)) => format!("'{s}'"),
            Node::Lit(Lit::Int(i)) => i.to_string(),
            Node::Lit(Lit::Float(f)) => f.to_string(),
            Node::Lit(Lit::Bool(b)) => b.to_string(),
            _ => "an operand".to_owned(),
        }
    }

    fn mismatch(&self, a: &Node, x: &Scalar<'_>, b: &Node, y: &Scalar<'_>) -> Mismatch {
        Mismatch(format!(
            "{} is {} and {} is {}: they cannot be compared or combined",
            self.describe(a),
            x.kind(),
            self.describe(b),
            y.kind()
        ))
    }

    fn not_a_number(&self, a: &Node, x: &Scalar<'_>) -> Mismatch {
        Mismatch(format!(
            "{} is {}, where a number was expected",
            self.describe(a),
            x.kind()
        ))
    }
}

fn literal(lit: &Lit) -> Scalar<'static> {
    match lit {
        Lit::Null => Scalar::Null,
        Lit::Bool(b) => Scalar::Bool(*b),
        Lit::Int(i) => Scalar::Int(*i),
        Lit::Float(f) => Scalar::Float(*f),
        Lit::Str(s) => Scalar::Str(Cow::Owned(s.clone())),
    }
}

/// A datum's field by path, `None` when a step is absent.
pub fn walk<'a>(from: Datum<'a>, path: &[String]) -> Option<Datum<'a>> {
    path.iter().try_fold(from, |d, n| d.get(n))
}

/// A value as a truth value: NULL is unknown; anything else but a boolean
/// is a mismatch.
fn truth(value: &Scalar<'_>, describe: impl FnOnce() -> String) -> Result<Option<bool>, Mismatch> {
    match value {
        Scalar::Bool(b) => Ok(Some(*b)),
        Scalar::Null => Ok(None),
        other => Err(Mismatch(format!(
            "{} is {}, where a condition (true or false) was expected",
            describe(),
            other.kind()
        ))),
    }
}

fn negate_if(value: Scalar<'_>, negated: bool) -> Scalar<'_> {
    match (value, negated) {
        (Scalar::Bool(b), true) => Scalar::Bool(!b),
        (v, _) => v,
    }
}

/// The order of two values; `Ok(None)` when one is NULL (or NaN), `Err`
/// when they are of kinds that cannot be compared.
fn compare(x: &Scalar<'_>, y: &Scalar<'_>) -> Result<Option<std::cmp::Ordering>, ()> {
    Ok(match (x, y) {
        (Scalar::Null, _) | (_, Scalar::Null) => None,
        (Scalar::Int(a), Scalar::Int(b)) => Some(a.cmp(b)),
        (Scalar::Str(a), Scalar::Str(b)) => Some(a.cmp(b)),
        (Scalar::Bool(a), Scalar::Bool(b)) => Some(a.cmp(b)),
        (a, b) => match (a.number(), b.number()) {
            (Some(a), Some(b)) => a.partial_cmp(&b),
            _ => return Err(()),
        },
    })
}

fn holds(op: Cmp, ordering: std::cmp::Ordering) -> bool {
    use std::cmp::Ordering::*;
    match op {
        Cmp::Eq => ordering == Equal,
        Cmp::Ne => ordering != Equal,
        Cmp::Lt => ordering == Less,
        Cmp::Le => ordering != Greater,
        Cmp::Gt => ordering == Greater,
        Cmp::Ge => ordering != Less,
    }
}

fn arith<'a>(op: Arith, x: &Scalar<'_>, y: &Scalar<'_>) -> Option<Scalar<'a>> {
    // NULL with NULL or with a number is NULL; with anything else, a mismatch.
    match (x, y) {
        (Scalar::Null, Scalar::Null) => return Some(Scalar::Null),
        (Scalar::Null, other) | (other, Scalar::Null) => {
            return other.number().map(|_| Scalar::Null)
        }
        _ => {}
    }
    if let (Scalar::Int(a), Scalar::Int(b)) = (x, y) {
        let exact = match op {
            Arith::Add => a.checked_add(*b),
            Arith::Sub => a.checked_sub(*b),
            Arith::Mul => a.checked_mul(*b),
            Arith::Div | Arith::Mod if *b == 0 => return Some(Scalar::Null),
            Arith::Div => None, // 7 / 2 is 3.5, as users mean it
            Arith::Mod => a.checked_rem(*b),
        };
        if let Some(v) = exact {
            return Some(Scalar::Int(v));
        }
    }
    let (a, b) = (x.number()?, y.number()?);
    Some(Scalar::Float(match op {
        Arith::Add => a + b,
        Arith::Sub => a - b,
        Arith::Mul => a * b,
        Arith::Div => a / b,
        Arith::Mod => a % b,
    }))
}
