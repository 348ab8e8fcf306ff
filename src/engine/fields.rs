//! Which fields of each struct column a scan decodes: only those its projection reads
//! (`executionresult.errorcode` reads one of four), unless it uses the whole struct.
//! Decoding structs' string fields took about a fifth of a cold `approvals` (perf), and
//! most reports read one or two fields of a struct.

use std::collections::{BTreeSet, HashMap};
use std::sync::Arc;

use datafusion::arrow::datatypes::{DataType, Field, Fields, Schema, SchemaRef};
use datafusion::common::tree_node::{TreeNode, TreeNodeRecursion};
use datafusion::physical_expr::ScalarFunctionExpr;
use datafusion::physical_expr::expressions::{Column, Literal};
use datafusion::physical_plan::projection::ProjectionExprs;

use crate::core::schema::sql_name;

/// The name DataFusion gives struct field access (`s.f`, `s['f']`).
const GET_FIELD: &str = "get_field";

/// `keys` (the scan's file columns under the JSON's keys, in the order of
/// `file_indices`) with each struct column narrowed to the fields `projection` reads,
/// when `projection` reads that column only through `get_field` with a literal name.
/// `projection`'s columns index the table schema; `file_indices` are the table
/// columns the scan reads, in order.
pub fn narrow(projection: &ProjectionExprs, file_indices: &[usize], keys: &Schema) -> SchemaRef {
    // Per table column: how often it appears at all, and as `get_field(col, 'name')`.
    let mut uses: HashMap<usize, usize> = HashMap::new();
    let mut fields: HashMap<usize, (usize, BTreeSet<String>)> = HashMap::new();
    for p in projection.iter() {
        let _ = p.expr.apply(|e| {
            if let Some(c) = e.downcast_ref::<Column>() {
                *uses.entry(c.index()).or_default() += 1;
            } else if let Some((index, name)) = field_access(e.downcast_ref::<ScalarFunctionExpr>())
            {
                let entry = fields.entry(index).or_default();
                entry.0 += 1;
                entry.1.insert(name);
            }
            Ok(TreeNodeRecursion::Continue)
        });
    }
    let narrowed: Vec<Field> = keys
        .fields()
        .iter()
        .zip(file_indices)
        .map(|(field, index)| {
            let DataType::Struct(children) = field.data_type() else {
                return field.as_ref().clone();
            };
            match fields.get(index) {
                // Every use of the column is one of these field accesses.
                Some((n, read)) if uses.get(index) == Some(n) => {
                    let kept: Fields = children
                        .iter()
                        .filter(|f| read.contains(&sql_name(f.name())))
                        .cloned()
                        .collect();
                    field
                        .as_ref()
                        .clone()
                        .with_data_type(DataType::Struct(kept))
                }
                _ => field.as_ref().clone(),
            }
        })
        .collect();
    Arc::new(Schema::new_with_metadata(narrowed, keys.metadata().clone()))
}

/// `(column index, field name)` of `get_field(column, 'name')`.
fn field_access(f: Option<&ScalarFunctionExpr>) -> Option<(usize, String)> {
    let f = f?;
    let [column, name] = f.args() else {
        return None;
    };
    if f.name() != GET_FIELD {
        return None;
    }
    let column = column.downcast_ref::<Column>()?;
    let name = name.downcast_ref::<Literal>()?.value().try_as_str()??;
    Some((column.index(), name.to_owned()))
}

#[cfg(test)]
mod tests {
    use datafusion::physical_plan::projection::ProjectionExpr;
    use datafusion::prelude::SessionContext;

    use super::*;
    use crate::core::schema::Table;
    use crate::engine::arrow::{file_schema, json_schema};

    /// The scan projection DataFusion pushes down for `sql` over the action table.
    async fn narrowed(sql: &str) -> Vec<(String, Vec<String>)> {
        let ctx = SessionContext::new();
        let schema = file_schema(Table::Action);
        let table = datafusion::datasource::empty::EmptyTable::new(Arc::clone(&schema));
        ctx.register_table("t", Arc::new(table)).unwrap();
        let plan = ctx.sql(sql).await.unwrap().logical_plan().clone();
        // The expressions of the plan's first projection, planned against the table.
        let (exprs, dfschema) = match plan {
            datafusion::logical_expr::LogicalPlan::Projection(p) => {
                (p.expr, p.input.schema().clone())
            }
            other => panic!("{other:?}"),
        };
        let props = ctx.state().execution_props().clone();
        let planning =
            datafusion::logical_expr::physical_planning_context::PhysicalPlanningContext::default();
        let projection = ProjectionExprs::new(exprs.iter().map(|e| {
            let p =
                datafusion::physical_expr::create_physical_expr(e, &dfschema, &props, &planning)
                    .unwrap();
            ProjectionExpr::new(p, e.schema_name().to_string())
        }));
        let file_indices: Vec<usize> = (0..schema.fields().len()).collect();
        let keys = json_schema(Table::Action);
        let out = narrow(&projection, &file_indices, &keys);
        out.fields()
            .iter()
            .filter_map(|f| match f.data_type() {
                DataType::Struct(c) => Some((
                    f.name().clone(),
                    c.iter().map(|c| c.name().clone()).collect(),
                )),
                _ => None,
            })
            .collect()
    }

    #[tokio::test]
    async fn only_the_fields_read_are_decoded() {
        let got = narrowed(r#"SELECT "executionResult"['errorcode'] FROM t"#).await;
        let result = got.iter().find(|(n, _)| n == "executionResult").unwrap();
        assert_eq!(result.1, ["errorCode"]);
        let got = narrowed(
            r#"SELECT "type"['category'], "executionResult"['externalexecutionurl'], "executionResult"['errorcode'] FROM t"#,
        )
        .await;
        let result = got.iter().find(|(n, _)| n == "executionResult").unwrap();
        assert_eq!(result.1, ["externalExecutionUrl", "errorCode"]);
        let ty = got.iter().find(|(n, _)| n == "type").unwrap();
        assert_eq!(ty.1, ["category"]);
    }

    #[tokio::test]
    async fn a_struct_used_whole_is_decoded_whole() {
        let got =
            narrowed(r#"SELECT "executionResult"['errorcode'], "executionResult" IS NULL FROM t"#)
                .await;
        let result = got.iter().find(|(n, _)| n == "executionResult").unwrap();
        assert_eq!(result.1.len(), 4, "{got:?}");
    }
}
