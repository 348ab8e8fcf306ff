//! Result rows: the typed columns and values both engines produce and every output
//! format consumes, so formatting never depends on how a query ran.

/// The type of a result column, as far as output formats care.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    /// Booleans.
    Bool,
    /// Integers.
    Int,
    /// Floating point and decimals.
    Float,
    /// Text, timestamps and anything else, rendered as text.
    Text,
}

impl Kind {
    /// The name used in JSON output's column list.
    pub fn name(self) -> &'static str {
        match self {
            Kind::Bool => "boolean",
            Kind::Int => "integer",
            Kind::Float => "number",
            Kind::Text => "string",
        }
    }
}

/// One value of a result row.
#[derive(Debug, Clone, PartialEq)]
pub enum Value {
    /// SQL NULL.
    Null,
    /// A boolean.
    Bool(bool),
    /// An integer.
    Int(i64),
    /// A floating point number.
    Float(f64),
    /// Text (timestamps are ISO 8601 text).
    Text(String),
}

impl Value {
    /// The value as a number, when it is one.
    pub fn as_f64(&self) -> Option<f64> {
        match self {
            Value::Int(i) => Some(*i as f64),
            Value::Float(f) => Some(*f),
            Value::Text(t) => t.parse().ok(),
            _ => None,
        }
    }

    /// The value as text, when it is text.
    pub fn as_str(&self) -> Option<&str> {
        match self {
            Value::Text(t) => Some(t),
            _ => None,
        }
    }
}

/// A named, typed result column.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ColumnInfo {
    /// Column name.
    pub name: String,
    /// Column type.
    pub kind: Kind,
}

/// The rows a statement returned.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct ResultSet {
    /// The columns, in order.
    pub columns: Vec<ColumnInfo>,
    /// The rows; each has one value per column.
    pub rows: Vec<Vec<Value>>,
}

impl ResultSet {
    /// The index of the column called `name`.
    pub fn column(&self, name: &str) -> Option<usize> {
        self.columns.iter().position(|c| c.name == name)
    }

    /// The value of column `name` in row `row`.
    pub fn get(&self, row: usize, name: &str) -> Option<&Value> {
        self.rows.get(row)?.get(self.column(name)?)
    }
}
