//! A SQL boolean expression, as Lasair users write their filters, parsed by
//! sqlparser and compiled into the small tree `eval` walks: operators,
//! literals, field paths, the functions alertstream knows. What sqlparser
//! accepts but a filter cannot use (subqueries, casts, window functions) is
//! refused here, with its position.

use sqlparser::ast::{
    BinaryOperator, Expr, FunctionArg, FunctionArgExpr, FunctionArguments, InTarget, Spanned,
    UnaryOperator, Value,
};
use sqlparser::dialect::GenericDialect;
use sqlparser::parser::{Parser, ParserError};
use sqlparser::tokenizer::Token;

/// Why an expression cannot be used, and where (1-based column).
#[derive(Debug, Clone, PartialEq)]
pub struct Invalid {
    pub column: Option<usize>,
    pub reason: String,
}

/// A literal value.
#[derive(Debug, Clone, PartialEq)]
pub enum Lit {
    Null,
    Bool(bool),
    Int(i64),
    Float(f64),
    Str(String),
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Cmp {
    Eq,
    Ne,
    Lt,
    Le,
    Gt,
    Ge,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Arith {
    Add,
    Sub,
    Mul,
    Div,
    Mod,
}

/// A function of values.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Func {
    Abs,
    Coalesce,
    Now,
    Len,
    Lower,
    Upper,
    Sqrt,
    Log10,
}

/// A condition over the items of an array field.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Quantifier {
    /// True when the condition holds for at least one item.
    Any,
    /// True when it holds for every item.
    All,
    /// How many items it holds for.
    Count,
}

/// The compiled expression.
#[derive(Debug, Clone)]
pub enum Node {
    Lit(Lit),
    /// A field path (index into [`Compiled::paths`]): looked up in the
    /// innermost item scope first, then in the alert.
    Path(usize),
    Not(Box<Node>),
    And(Box<Node>, Box<Node>),
    Or(Box<Node>, Box<Node>),
    Compare(Cmp, Box<Node>, Box<Node>),
    Arith(Arith, Box<Node>, Box<Node>),
    Neg(Box<Node>),
    Between {
        expr: Box<Node>,
        low: Box<Node>,
        high: Box<Node>,
        negated: bool,
    },
    In {
        expr: Box<Node>,
        list: Vec<Node>,
        negated: bool,
    },
    Like {
        expr: Box<Node>,
        pattern: regex::Regex,
        negated: bool,
    },
    IsNull {
        expr: Box<Node>,
        negated: bool,
    },
    Call(Func, Vec<Node>),
    /// `any(array, condition)`: the condition's paths are read in each item.
    Quantified {
        quantifier: Quantifier,
        array: usize,
        condition: Box<Node>,
    },
}

/// An expression compiled, with the field paths it reads.
#[derive(Debug, Clone)]
pub struct Compiled {
    pub root: Node,
    /// Dotted field paths, each once (`candidate.magpsf` -> [candidate, magpsf]).
    pub paths: Vec<Vec<String>>,
}

/// Parses and compiles `text`.
pub fn compile(text: &str) -> Result<Compiled, Invalid> {
    let dialect = GenericDialect {};
    let mut parser = Parser::new(&dialect)
        .try_with_sql(text)
        .map_err(|e| parse_error(&e))?;
    let expr = parser.parse_expr().map_err(|e| parse_error(&e))?;
    let next = parser.peek_token();
    if next.token != Token::EOF {
        return Err(Invalid {
            column: Some(next.span.start.column as usize),
            reason: format!("unexpected {} after the expression", next.token),
        });
    }
    let mut compiler = Compiler { paths: Vec::new() };
    let root = compiler.node(&expr)?;
    Ok(Compiled {
        root,
        paths: compiler.paths,
    })
}

/// sqlparser says where in its message: "... at Line: 1, Column: 12".
fn parse_error(e: &ParserError) -> Invalid {
    let message = match e {
        ParserError::TokenizerError(m) | ParserError::ParserError(m) => m.clone(),
        ParserError::RecursionLimitExceeded => "the expression nests too deeply".to_owned(),
    };
    let (reason, column) = match message.rsplit_once(" at Line: ") {
        Some((reason, at)) => {
            let column = at
                .split_once("Column: ")
                .and_then(|(_, c)| c.trim().parse().ok());
            (reason.to_owned(), column)
        }
        None => (message, None),
    };
    Invalid { column, reason }
}

struct Compiler {
    paths: Vec<Vec<String>>,
}

fn at(expr: &impl Spanned) -> Option<usize> {
    let column = expr.span().start.column as usize;
    (column > 0).then_some(column)
}

fn unsupported(expr: &Expr, what: &str) -> Invalid {
    Invalid {
        column: at(expr),
        reason: format!("{what} cannot be used in a filter"),
    }
}

impl Compiler {
    fn path(&mut self, names: Vec<String>) -> usize {
        match self.paths.iter().position(|p| *p == names) {
            Some(i) => i,
            None => {
                self.paths.push(names);
                self.paths.len() - 1
            }
        }
    }

    fn boxed(&mut self, expr: &Expr) -> Result<Box<Node>, Invalid> {
        self.node(expr).map(Box::new)
    }

    fn node(&mut self, expr: &Expr) -> Result<Node, Invalid> {
        Ok(match expr {
            Expr::Identifier(ident) => Node::Path(self.path(vec![ident.value.clone()])),
            Expr::CompoundIdentifier(idents) => {
                Node::Path(self.path(idents.iter().map(|i| i.value.clone()).collect()))
            }
            Expr::Nested(inner) => self.node(inner)?,
            Expr::Value(v) => Node::Lit(literal(&v.value).ok_or_else(|| Invalid {
                column: at(v),
                reason: format!("the value {} cannot be used in a filter", v.value),
            })?),
            Expr::IsNull(e) => Node::IsNull {
                expr: self.boxed(e)?,
                negated: false,
            },
            Expr::IsNotNull(e) => Node::IsNull {
                expr: self.boxed(e)?,
                negated: true,
            },
            Expr::IsTrue(e) => self.is_bool(e, true, false)?,
            Expr::IsNotTrue(e) => self.is_bool(e, true, true)?,
            Expr::IsFalse(e) => self.is_bool(e, false, false)?,
            Expr::IsNotFalse(e) => self.is_bool(e, false, true)?,
            Expr::UnaryOp { op, expr: e } => match op {
                UnaryOperator::Not => Node::Not(self.boxed(e)?),
                UnaryOperator::Minus => Node::Neg(self.boxed(e)?),
                UnaryOperator::Plus => self.node(e)?,
                _ => return Err(unsupported(expr, &format!("the operator {op}"))),
            },
            Expr::BinaryOp { left, op, right } => self.binary(expr, left, op, right)?,
            Expr::Between {
                expr: e,
                negated,
                low,
                high,
            } => Node::Between {
                expr: self.boxed(e)?,
                low: self.boxed(low)?,
                high: self.boxed(high)?,
                negated: *negated,
            },
            Expr::In {
                expr: e,
                target: InTarget::List(list),
                negated,
                global: false,
            } => Node::In {
                expr: self.boxed(e)?,
                list: list
                    .iter()
                    .map(|i| self.node(i))
                    .collect::<Result<_, _>>()?,
                negated: *negated,
            },
            Expr::Like {
                negated,
                any: false,
                expr: e,
                pattern,
                escape_char: None,
            } => self.like(e, pattern, *negated, false)?,
            Expr::ILike {
                negated,
                any: false,
                expr: e,
                pattern,
                escape_char: None,
            } => self.like(e, pattern, *negated, true)?,
            Expr::Function(f) => self.function(expr, f)?,
            Expr::Subquery(_) | Expr::Exists { .. } | Expr::In { .. } => {
                return Err(unsupported(expr, "a subquery"))
            }
            _ => return Err(unsupported(expr, &format!("`{expr}`"))),
        })
    }

    fn is_bool(&mut self, e: &Expr, value: bool, negated: bool) -> Result<Node, Invalid> {
        // x IS TRUE: true only when x is true (never null).
        let test = Node::Compare(
            Cmp::Eq,
            self.boxed(e)?,
            Box::new(Node::Lit(Lit::Bool(value))),
        );
        let known = Node::And(
            Box::new(Node::IsNull {
                expr: self.boxed(e)?,
                negated: true,
            }),
            Box::new(test),
        );
        Ok(match negated {
            false => known,
            true => Node::Not(Box::new(known)),
        })
    }

    fn binary(
        &mut self,
        whole: &Expr,
        left: &Expr,
        op: &BinaryOperator,
        right: &Expr,
    ) -> Result<Node, Invalid> {
        use BinaryOperator as B;
        let (l, r) = (self.boxed(left)?, self.boxed(right)?);
        Ok(match op {
            B::And => Node::And(l, r),
            B::Or => Node::Or(l, r),
            B::Eq => Node::Compare(Cmp::Eq, l, r),
            B::NotEq => Node::Compare(Cmp::Ne, l, r),
            B::Lt => Node::Compare(Cmp::Lt, l, r),
            B::LtEq => Node::Compare(Cmp::Le, l, r),
            B::Gt => Node::Compare(Cmp::Gt, l, r),
            B::GtEq => Node::Compare(Cmp::Ge, l, r),
            B::Plus => Node::Arith(Arith::Add, l, r),
            B::Minus => Node::Arith(Arith::Sub, l, r),
            B::Multiply => Node::Arith(Arith::Mul, l, r),
            B::Divide => Node::Arith(Arith::Div, l, r),
            B::Modulo => Node::Arith(Arith::Mod, l, r),
            other => return Err(unsupported(whole, &format!("the operator {other}"))),
        })
    }

    fn like(
        &mut self,
        e: &Expr,
        pattern: &Expr,
        negated: bool,
        case_insensitive: bool,
    ) -> Result<Node, Invalid> {
        let text = match pattern {
            Expr::Value(v) => match &v.value {
                Value::SingleQuotedString(s) | Value::DoubleQuotedString(s) => s.clone(),
                _ => return Err(unsupported(pattern, "a LIKE pattern that is not a string")),
            },
            _ => return Err(unsupported(pattern, "a LIKE pattern that is not a string")),
        };
        let mut regex = String::from(if case_insensitive { "(?is)^" } else { "(?s)^" });
        for c in text.chars() {
            match c {
                '%' => regex.push_str(".*"),
                '_' => regex.push('.'),
                c => regex.push_str(&regex::escape(&c.to_string())),
            }
        }
        regex.push('$');
        let pattern = regex::Regex::new(&regex).map_err(|e| Invalid {
            column: at(pattern),
            reason: format!("the LIKE pattern cannot be used: {e}"),
        })?;
        Ok(Node::Like {
            expr: self.boxed(e)?,
            pattern,
            negated,
        })
    }

    fn function(&mut self, whole: &Expr, f: &sqlparser::ast::Function) -> Result<Node, Invalid> {
        let name = f.name.to_string().to_ascii_lowercase();
        let args: Vec<&Expr> = match &f.args {
            FunctionArguments::None => Vec::new(),
            FunctionArguments::List(list) if list.duplicate_treatment.is_none() => list
                .args
                .iter()
                .map(|a| match a {
                    FunctionArg::Unnamed(FunctionArgExpr::Expr(e)) => Ok(e),
                    _ => Err(unsupported(whole, "a named or wildcard argument")),
                })
                .collect::<Result<_, _>>()?,
            _ => return Err(unsupported(whole, "this form of function call")),
        };
        let arity = |n: usize| {
            if args.len() == n {
                Ok(())
            } else {
                Err(Invalid {
                    column: at(whole),
                    reason: format!("{name}() takes {n} argument(s), not {}", args.len()),
                })
            }
        };
        let quantifier = match name.as_str() {
            "any" | "exists_in" => Some(Quantifier::Any),
            "all" | "every" => Some(Quantifier::All),
            "count" => Some(Quantifier::Count),
            _ => None,
        };
        if let Some(quantifier) = quantifier {
            arity(2)?;
            let array = match args[0] {
                Expr::Identifier(i) => self.path(vec![i.value.clone()]),
                Expr::CompoundIdentifier(ids) => {
                    self.path(ids.iter().map(|i| i.value.clone()).collect())
                }
                other => {
                    return Err(Invalid {
                        column: at(other),
                        reason: format!(
                            "{name}()'s first argument is an array field, like prv_candidates"
                        ),
                    })
                }
            };
            return Ok(Node::Quantified {
                quantifier,
                array,
                condition: self.boxed(args[1])?,
            });
        }
        let (func, n) = match name.as_str() {
            "abs" => (Func::Abs, Some(1)),
            "coalesce" => (Func::Coalesce, None),
            "now" => (Func::Now, Some(0)),
            "len" | "length" | "cardinality" => (Func::Len, Some(1)),
            "lower" => (Func::Lower, Some(1)),
            "upper" => (Func::Upper, Some(1)),
            "sqrt" => (Func::Sqrt, Some(1)),
            "log10" => (Func::Log10, Some(1)),
            _ => {
                return Err(Invalid {
                    column: at(whole),
                    reason: format!(
                        "unknown function {name}(): known are abs, coalesce, now, len, lower, \
                         upper, sqrt, log10, and any, all, count over an array"
                    ),
                })
            }
        };
        if let Some(n) = n {
            arity(n)?;
        }
        let args = args
            .into_iter()
            .map(|a| self.node(a))
            .collect::<Result<_, _>>()?;
        Ok(Node::Call(func, args))
    }
}

fn literal(value: &Value) -> Option<Lit> {
    Some(match value {
        Value::Null => Lit::Null,
        Value::Boolean(b) => Lit::Bool(*b),
        Value::Number(text, _) => match text.parse::<i64>() {
            Ok(i) => Lit::Int(i),
            Err(_) => Lit::Float(text.parse().ok()?),
        },
        Value::SingleQuotedString(s) | Value::DoubleQuotedString(s) => Lit::Str(s.clone()),
        _ => return None,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lasair_style_filters_compile() {
        let c = compile(
            "candidate.magpsf < 18 AND candidate.drb > 0.8 AND \
             (candidate.ssdistnr < 0 OR candidate.ssdistnr > 5)",
        )
        .unwrap();
        let paths: Vec<String> = c.paths.iter().map(|p| p.join(".")).collect();
        assert_eq!(
            paths,
            ["candidate.magpsf", "candidate.drb", "candidate.ssdistnr"]
        );
        for text in [
            "mag BETWEEN 15 AND 18.5",
            "band IN ('g', 'r') AND objectId LIKE 'ZTF18%'",
            "candidate.isdiffpos IS NOT NULL OR abs(dec) < 10",
            "any(prv_candidates, magpsf < 17) AND len(prv_candidates) > 2",
            "coalesce(candidate.drb, 0) > 0.5 AND mjd > now() - 1",
            "NOT (finkclass = 'Solar System MPC')",
        ] {
            assert!(compile(text).is_ok(), "{text}: {:?}", compile(text));
        }
    }

    #[test]
    fn errors_say_where() {
        let e = compile("candidate.magpsf <<< 18").unwrap_err();
        assert!(e.column.is_some(), "{e:?}");
        let e = compile("mag < 18 mag").unwrap_err();
        assert_eq!(e.column, Some(10), "{e:?}");
        let e = compile("median(mag) < 18").unwrap_err();
        assert!(e.reason.contains("unknown function median()"), "{e:?}");
        assert_eq!(e.column, Some(1));
        let e = compile("abs(mag, 1) < 18").unwrap_err();
        assert!(
            e.reason.contains("abs() takes 1 argument(s), not 2"),
            "{e:?}"
        );
    }
}
