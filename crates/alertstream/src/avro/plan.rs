//! A writer schema compiled for decoding: small fixed-size nodes in one
//! array, children in a flat table, nullable unions recognized up front.
//! Built once per schema; every message then walks this instead of the
//! general-purpose schema tree.

use serde_avro_fast::schema::{RegularType, SchemaMut};

#[derive(Debug, Clone, Copy)]
pub(crate) enum Node {
    Null,
    Boolean,
    Int,
    Long,
    Float,
    Double,
    Bytes,
    String,
    Fixed {
        size: u32,
    },
    Enum {
        symbols: u32,
    },
    Array {
        items: u32,
    },
    Map {
        values: u32,
    },
    /// `["null", T]` (`null_first`) or `[T, "null"]`: the common alert field.
    Nullable {
        null_first: bool,
        other: u32,
    },
    Union {
        start: u32,
        len: u32,
    },
    Record {
        start: u32,
        len: u32,
    },
}

/// Node `i` of the plan is node `i` of the schema tree, so decoded records can
/// refer to the tree for their field names.
#[derive(Debug, Clone, Default)]
pub(crate) struct Plan {
    pub nodes: Vec<Node>,
    pub children: Vec<u32>,
}

impl Plan {
    pub fn compile(tree: &SchemaMut) -> Plan {
        let mut plan = Plan::default();
        let is_null = |k: usize| {
            matches!(
                tree.nodes().get(k).map(|n| &n.type_),
                Some(RegularType::Null)
            )
        };
        for node in tree.nodes() {
            let compiled = match &node.type_ {
                RegularType::Null => Node::Null,
                RegularType::Boolean => Node::Boolean,
                RegularType::Int => Node::Int,
                RegularType::Long => Node::Long,
                RegularType::Float => Node::Float,
                RegularType::Double => Node::Double,
                RegularType::Bytes => Node::Bytes,
                RegularType::String => Node::String,
                RegularType::Fixed(f) => Node::Fixed {
                    size: f.size as u32,
                },
                RegularType::Enum(e) => Node::Enum {
                    symbols: e.symbols.len() as u32,
                },
                RegularType::Array(a) => Node::Array {
                    items: a.items.idx() as u32,
                },
                RegularType::Map(m) => Node::Map {
                    values: m.values.idx() as u32,
                },
                RegularType::Union(u) => match u.variants.as_slice() {
                    [a, b] if is_null(a.idx()) && !is_null(b.idx()) => Node::Nullable {
                        null_first: true,
                        other: b.idx() as u32,
                    },
                    [a, b] if is_null(b.idx()) && !is_null(a.idx()) => Node::Nullable {
                        null_first: false,
                        other: a.idx() as u32,
                    },
                    variants => {
                        let start = plan.children.len() as u32;
                        plan.children
                            .extend(variants.iter().map(|v| v.idx() as u32));
                        Node::Union {
                            start,
                            len: variants.len() as u32,
                        }
                    }
                },
                RegularType::Record(r) => {
                    let start = plan.children.len() as u32;
                    plan.children
                        .extend(r.fields.iter().map(|f| f.type_.idx() as u32));
                    Node::Record {
                        start,
                        len: r.fields.len() as u32,
                    }
                }
            };
            plan.nodes.push(compiled);
        }
        plan
    }
}
