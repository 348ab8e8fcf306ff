//! The schema rendered as the CloudFormation `AWS::Glue::Table` resources of
//! `infra/template.yaml`. The template holds this text between two marker lines and a
//! test fails when they differ, so the deployed tables cannot drift from the schema.

use std::fmt::Write as _;

use crate::core::schema::{
    INPUT_FORMAT, OUTPUT_FORMAT, PARTITION_KEY, SERDE_LIBRARY, SERDE_PARAMETERS, TABLE_PARAMETERS,
    Table,
};

/// First line of the generated block in the template.
pub const BEGIN_MARKER: &str = "  # BEGIN cplogs tables: generated from src/core/schema.rs by src/aws/template.rs; do not edit";
/// Last line of the generated block in the template.
pub const END_MARKER: &str = "  # END cplogs tables";

/// Logical id of the template's bucket and database resources the tables refer to.
const BUCKET: &str = "LogBucket";
const DATABASE: &str = "GlueDatabase";
/// Condition that switches partition projection on.
pub const PROJECTION_CONDITION: &str = "UsePartitionProjection";

/// The logical id of a table's resource, e.g. `PipelineExecutionStateChangeTable`.
pub fn logical_id(table: Table) -> String {
    let mut id: String = table
        .name()
        .split('_')
        .map(|w| {
            let mut c = w.chars();
            c.next()
                .map(|f| f.to_ascii_uppercase().to_string() + c.as_str())
                .unwrap_or_default()
        })
        .collect();
    id.push_str("Table");
    id
}

/// A YAML double-quoted scalar (JSON strings are valid YAML).
fn q(s: &str) -> String {
    serde_json::Value::from(s).to_string()
}

/// The generated block, markers included, ending in a newline.
pub fn glue_tables_yaml() -> String {
    let mut y = String::new();
    // Writing into a String cannot fail.
    let _ = render(&mut y);
    y
}

fn render(y: &mut String) -> std::fmt::Result {
    writeln!(y, "{BEGIN_MARKER}")?;
    for table in Table::ALL {
        let name = table.name();
        let location = format!("s3://${{{BUCKET}}}/{name}/");
        writeln!(y, "  {}:", logical_id(table))?;
        writeln!(y, "    Type: AWS::Glue::Table")?;
        writeln!(y, "    Properties:")?;
        writeln!(y, "      CatalogId: !Ref AWS::AccountId")?;
        writeln!(y, "      DatabaseName: !Ref {DATABASE}")?;
        writeln!(y, "      TableInput:")?;
        writeln!(y, "        Name: {name}")?;
        writeln!(
            y,
            "        Description: {}",
            q(&format!(
                "cplogs: CodePipeline events of detail-type '{}'",
                table.detail_type()
            ))
        )?;
        writeln!(y, "        TableType: EXTERNAL_TABLE")?;
        writeln!(y, "        Parameters:")?;
        for (k, v) in TABLE_PARAMETERS {
            writeln!(y, "          {k}: {}", q(v))?;
        }
        for (k, v) in table.projection_parameters(&location) {
            if k == "projection.enabled" {
                writeln!(
                    y,
                    "          {k}: !If [{PROJECTION_CONDITION}, \"true\", \"false\"]"
                )?;
            } else if v.contains("${") {
                // In Fn::Sub, `${!dt}` is the literal `${dt}` Athena expects.
                let v = v.replace(
                    &format!("${{{PARTITION_KEY}}}"),
                    &format!("${{!{PARTITION_KEY}}}"),
                );
                writeln!(y, "          {k}: !Sub {}", q(&v))?;
            } else {
                writeln!(y, "          {k}: {}", q(&v))?;
            }
        }
        writeln!(y, "        PartitionKeys:")?;
        writeln!(y, "          - Name: {PARTITION_KEY}")?;
        writeln!(y, "            Type: string")?;
        writeln!(y, "        StorageDescriptor:")?;
        writeln!(y, "          Location: !Sub {}", q(&location))?;
        writeln!(y, "          InputFormat: {INPUT_FORMAT}")?;
        writeln!(y, "          OutputFormat: {OUTPUT_FORMAT}")?;
        writeln!(y, "          Compressed: true")?;
        writeln!(y, "          SerdeInfo:")?;
        writeln!(y, "            SerializationLibrary: {SERDE_LIBRARY}")?;
        writeln!(y, "            Parameters:")?;
        for (k, v) in SERDE_PARAMETERS {
            writeln!(y, "              {k}: {}", q(v))?;
        }
        writeln!(y, "          Columns:")?;
        for c in table.columns() {
            writeln!(y, "            - Name: {}", c.sql_name())?;
            writeln!(y, "              Type: {}", q(&c.ty.athena()))?;
            writeln!(y, "              Comment: {}", q(c.comment))?;
        }
    }
    writeln!(y, "{END_MARKER}")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn logical_ids_and_block_shape() {
        assert_eq!(logical_id(Table::Stage), "StageExecutionStateChangeTable");
        let y = glue_tables_yaml();
        assert!(y.starts_with(BEGIN_MARKER) && y.trim_end().ends_with(END_MARKER));
        assert_eq!(y.matches("Type: AWS::Glue::Table").count(), 3);
        assert!(y.contains(
            "storage.location.template: !Sub \"s3://${LogBucket}/action_execution_state_change/dt=${!dt}/\""
        ));
        assert!(y.contains("              Type: \"struct<owner:string,category:string,provider:string,version:string>\""));
    }
}
