//! The schema rendered as Arrow types: how the local engine registers the tables over
//! the gzip JSON lines (field names are the records' camelCase JSON keys).

use std::sync::Arc;

use arrow_schema::{DataType, Field, Fields, Schema, SchemaRef};

use crate::core::schema::{ColumnType, PARTITION_KEY, Table};

/// The Arrow type of a column type.
pub fn data_type(ty: ColumnType) -> DataType {
    match ty {
        ColumnType::String => DataType::Utf8,
        ColumnType::Int => DataType::Int32,
        ColumnType::Struct(fields) => DataType::Struct(
            fields
                .iter()
                .map(|f| Field::new(*f, DataType::Utf8, true))
                .collect::<Fields>(),
        ),
    }
}

/// The file schema of `table`: the data columns as they appear in each JSON line.
pub fn file_schema(table: Table) -> SchemaRef {
    Arc::new(Schema::new(
        table
            .columns()
            .iter()
            .map(|c| Field::new(c.name, data_type(c.ty), true))
            .collect::<Vec<_>>(),
    ))
}

/// The partition column the engine derives from `dt=` folder names.
pub fn partition_field() -> Field {
    Field::new(PARTITION_KEY, DataType::Utf8, false)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn arrow_schema_follows_the_columns() {
        for t in Table::ALL {
            let s = file_schema(t);
            let names: Vec<&str> = s.fields().iter().map(|f| f.name().as_str()).collect();
            let want: Vec<&str> = t.columns().iter().map(|c| c.name).collect();
            assert_eq!(names, want);
        }
        let action = file_schema(Table::Action);
        assert_eq!(
            action
                .field_with_name("executionAttempt")
                .unwrap()
                .data_type(),
            &DataType::Int32
        );
        match action.field_with_name("type").unwrap().data_type() {
            DataType::Struct(f) => assert_eq!(f.len(), 4),
            other => panic!("{other:?}"),
        }
    }
}
