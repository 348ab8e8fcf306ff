//! The schema rendered as Arrow types: how the local engine registers the tables over
//! the gzip JSON lines. Two spellings of one schema: the records' JSON keys (what the
//! decoder matches), and the scan's columns, whose struct fields already carry the
//! lower-case names SQL uses, so reading `executionresult.errorcode` is a plain field
//! access (a view renaming fields would rebuild every struct of every row).

use std::sync::Arc;

use arrow_schema::{DataType, Field, Fields, Schema, SchemaRef};

use crate::core::schema::{ColumnType, PARTITION_KEY, Table, sql_name};

/// The Arrow type of a column type, its struct fields named by `field_name`.
fn arrow_type(ty: ColumnType, field_name: fn(&str) -> String) -> DataType {
    match ty {
        ColumnType::String => DataType::Utf8,
        ColumnType::Int => DataType::Int32,
        ColumnType::Struct(fields) => DataType::Struct(
            fields
                .iter()
                .map(|f| Field::new(field_name(f), DataType::Utf8, true))
                .collect::<Fields>(),
        ),
    }
}

fn schema(table: Table, field_name: fn(&str) -> String) -> SchemaRef {
    Arc::new(Schema::new(
        table
            .columns()
            .iter()
            .map(|c| Field::new(c.name, arrow_type(c.ty, field_name), true))
            .collect::<Vec<_>>(),
    ))
}

/// The data columns of `table` exactly as each JSON line spells them (camelCase keys,
/// struct fields too): the schema the JSON decoder reads with.
pub fn json_schema(table: Table) -> SchemaRef {
    schema(table, str::to_owned)
}

/// The data columns of `table` as the engine's scan gives them: the same columns in
/// the same order as [`json_schema`], struct fields under their SQL names
/// ([`sql_name`]). The views over the scan rename the columns themselves.
pub fn file_schema(table: Table) -> SchemaRef {
    schema(table, sql_name)
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
            for s in [file_schema(t), json_schema(t)] {
                let names: Vec<&str> = s.fields().iter().map(|f| f.name().as_str()).collect();
                let want: Vec<&str> = t.columns().iter().map(|c| c.name).collect();
                assert_eq!(names, want);
            }
        }
        let action = file_schema(Table::Action);
        assert_eq!(
            action
                .field_with_name("executionAttempt")
                .unwrap()
                .data_type(),
            &DataType::Int32
        );
        let field_names = |s: &SchemaRef| match s.field_with_name("executionResult") {
            Ok(f) => match f.data_type() {
                DataType::Struct(f) => f.iter().map(|f| f.name().clone()).collect::<Vec<_>>(),
                other => panic!("{other:?}"),
            },
            Err(e) => panic!("{e}"),
        };
        assert_eq!(
            field_names(&action),
            [
                "externalexecutionurl",
                "externalexecutionsummary",
                "externalexecutionid",
                "errorcode"
            ]
        );
        assert_eq!(
            field_names(&json_schema(Table::Action)),
            [
                "externalExecutionUrl",
                "externalExecutionSummary",
                "externalExecutionId",
                "errorCode"
            ]
        );
    }
}
