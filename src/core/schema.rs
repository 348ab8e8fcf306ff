//! The one definition of the three Glue tables: columns, partition key, SerDe and location.
//!
//! Everything else that describes a table is rendered from here: the Athena DDL
//! ([`Table::ddl`]), the Glue `TableInput` (`crate::aws::glue`), and the local engine's
//! Arrow schema (`crate::engine::arrow`). The log record (`crate::core::record`) is checked against
//! these columns by tests, so the writer and the readers cannot drift apart.
//!
//! One cohesive thing (over 400 lines with tests): the one table definition and its DDL.

use std::fmt;

/// Glue database that holds the tables unless the user picks another.
pub const DEFAULT_DATABASE: &str = "codepipeline_event_logs";

/// The partition column: the UTC date of the event's `time`, `YYYY-MM-DD`.
pub const PARTITION_KEY: &str = "dt";

/// The Hive SerDe that reads the gzip JSON lines.
pub const SERDE_LIBRARY: &str = "org.openx.data.jsonserde.JsonSerDe";
/// Hadoop input format for text (gzip is detected from the file extension or magic).
pub const INPUT_FORMAT: &str = "org.apache.hadoop.mapred.TextInputFormat";
/// Hadoop output format Athena expects for text tables.
pub const OUTPUT_FORMAT: &str = "org.apache.hadoop.hive.ql.io.HiveIgnoreKeyTextOutputFormat";

/// SerDe parameters. `case.insensitive` lets Athena's lower-case column names match
/// the camelCase keys the records carry. `ignore.malformed.json` makes a line that is
/// not JSON a row of NULLs instead of failing every query that reads its file: one
/// foreign line must not take every report down (the local engine reads such lines
/// the same way, `crate::engine::jsonl`).
pub const SERDE_PARAMETERS: &[(&str, &str)] = &[
    ("case.insensitive", "TRUE"),
    ("ignore.malformed.json", "TRUE"),
];

/// Table parameters shared by every table.
pub const TABLE_PARAMETERS: &[(&str, &str)] = &[
    ("EXTERNAL", "TRUE"),
    ("classification", "json"),
    ("compressionType", "gzip"),
    ("typeOfData", "file"),
];

/// Date format of `dt`, in Java `DateTimeFormatter` notation (partition projection).
pub const PROJECTION_DATE_FORMAT: &str = "yyyy-MM-dd";
/// First day partition projection considers.
pub const PROJECTION_RANGE_START: &str = "2020-01-01";

/// The type of a column, in the subset of Athena types the records use.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ColumnType {
    /// `string`
    String,
    /// `int` (32-bit)
    Int,
    /// `struct<...>` whose fields are all strings.
    Struct(&'static [&'static str]),
}

impl ColumnType {
    /// The Athena/Hive type name, e.g. `struct<owner:string,category:string>`.
    ///
    /// Field names are lower-cased because Athena lower-cases every identifier and
    /// the OpenX SerDe matches JSON keys case-insensitively.
    pub fn athena(&self) -> String {
        match self {
            ColumnType::String => "string".to_owned(),
            Self::Int => "int".to_owned(),
            Self::Struct(fields) => {
                let inner: Vec<String> = fields
                    .iter()
                    .map(|f| format!("{}:string", sql_name(f)))
                    .collect();
                format!("struct<{}>", inner.join(","))
            }
        }
    }
}

/// One column of a table.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Column {
    /// The JSON key in the log record (camelCase, exactly as DESIGN.md names it).
    pub name: &'static str,
    /// The column's type.
    pub ty: ColumnType,
    /// What the column holds (becomes the Glue column comment).
    pub comment: &'static str,
}

impl Column {
    /// The name Athena and Glue use: the JSON key lower-cased.
    pub fn sql_name(&self) -> String {
        sql_name(self.name)
    }
}

/// The name SQL gives a JSON key, of a column or of a struct's field: lower-cased, as
/// Athena lower-cases every identifier (and the OpenX SerDe matches keys regardless
/// of case).
pub fn sql_name(key: &str) -> String {
    key.to_ascii_lowercase()
}

const fn col(name: &'static str, ty: ColumnType, comment: &'static str) -> Column {
    Column { name, ty, comment }
}

/// Fields of the action `type` struct.
pub const ACTION_TYPE_FIELDS: &[&str] = &["owner", "category", "provider", "version"];
/// Fields of the action `executionResult` struct.
pub const EXECUTION_RESULT_FIELDS: &[&str] = &[
    "externalExecutionUrl",
    "externalExecutionSummary",
    "externalExecutionId",
    "errorCode",
];
/// Fields of the pipeline `executionTrigger` struct.
pub const EXECUTION_TRIGGER_FIELDS: &[&str] = &[
    "triggerType",
    "triggerDetail",
    "providerType",
    "fullRepositoryName",
    "branchName",
    "tagName",
    "commitId",
    "commitMessage",
];

use ColumnType::{Int, String as Str, Struct};

/// Columns every table starts with: the original project's format.
const COMMON_ORIGINAL: [Column; 7] = [
    col("timestamp", Str, "event time, ISO 8601 as received"),
    col("eventVersion", Str, "EventBridge envelope version"),
    col("pipelineArn", Str, "resources[0] of the event"),
    col("pipeline", Str, "pipeline name"),
    col("version", Str, "pipeline version, integer as text"),
    col("state", Str, "execution state as sent"),
    col("executionId", Str, "pipeline execution id"),
];

/// Columns every table has after its own original ones.
const COMMON_ADDED: [Column; 5] = [
    col("eventId", Str, "EventBridge event id, for de-duplication"),
    col("account", Str, "AWS account of the event"),
    col("eventRegion", Str, "AWS region of the event"),
    col("startTime", Str, "start time of the pipeline execution"),
    col("executionAttempt", Int, "pipeline execution attempt"),
];

const PIPELINE_COLUMNS: [Column; 14] = {
    let o = COMMON_ORIGINAL;
    let a = COMMON_ADDED;
    [
        o[0],
        o[1],
        o[2],
        o[3],
        o[4],
        o[5],
        o[6],
        a[0],
        a[1],
        a[2],
        a[3],
        a[4],
        col(
            "executionTrigger",
            Struct(EXECUTION_TRIGGER_FIELDS),
            "what started the execution",
        ),
        col(
            "stopExecutionComments",
            Str,
            "comment given when the execution was stopped",
        ),
    ]
};

const STAGE_COLUMNS: [Column; 14] = {
    let o = COMMON_ORIGINAL;
    let a = COMMON_ADDED;
    [
        o[0],
        o[1],
        o[2],
        o[3],
        o[4],
        o[5],
        o[6],
        col("stage", Str, "stage name"),
        a[0],
        a[1],
        a[2],
        a[3],
        a[4],
        col(
            "stageLastRetryAttemptTime",
            Str,
            "time of the stage's last retry",
        ),
    ]
};

const ACTION_COLUMNS: [Column; 18] = {
    let o = COMMON_ORIGINAL;
    let a = COMMON_ADDED;
    [
        o[0],
        o[1],
        o[2],
        o[3],
        o[4],
        o[5],
        o[6],
        col("stage", Str, "stage name"),
        col("action", Str, "action name"),
        col("region", Str, "region the action runs in"),
        col("type", Struct(ACTION_TYPE_FIELDS), "action type"),
        a[0],
        a[1],
        a[2],
        a[3],
        a[4],
        col(
            "actionExecutionId",
            Str,
            "action execution id (one attempt)",
        ),
        col(
            "executionResult",
            Struct(EXECUTION_RESULT_FIELDS),
            "external result of the action",
        ),
    ]
};

/// One of the three tables, one per EventBridge detail-type.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Table {
    /// `pipeline_execution_state_change`
    Pipeline,
    /// `stage_execution_state_change`
    Stage,
    /// `action_execution_state_change`
    Action,
}

impl Table {
    /// All tables, in a stable order.
    pub const ALL: [Table; 3] = [Table::Pipeline, Table::Stage, Table::Action];

    /// The Glue table name, which is also its folder in the bucket.
    pub const fn name(self) -> &'static str {
        match self {
            Table::Pipeline => "pipeline_execution_state_change",
            Table::Stage => "stage_execution_state_change",
            Table::Action => "action_execution_state_change",
        }
    }

    /// The EventBridge `detail-type` whose events this table stores.
    pub const fn detail_type(self) -> &'static str {
        match self {
            Table::Pipeline => "CodePipeline Pipeline Execution State Change",
            Table::Stage => "CodePipeline Stage Execution State Change",
            Table::Action => "CodePipeline Action Execution State Change",
        }
    }

    /// The table for a `detail-type`, if it is one of ours.
    pub fn from_detail_type(detail_type: &str) -> Option<Table> {
        Table::ALL
            .into_iter()
            .find(|t| t.detail_type() == detail_type)
    }

    /// The table with this name, if any.
    pub fn from_name(name: &str) -> Option<Table> {
        Table::ALL.into_iter().find(|t| t.name() == name)
    }

    /// The data columns, in order (without the partition key).
    pub fn columns(self) -> &'static [Column] {
        match self {
            Table::Pipeline => &PIPELINE_COLUMNS,
            Table::Stage => &STAGE_COLUMNS,
            Table::Action => &ACTION_COLUMNS,
        }
    }

    /// Table properties for date partition projection on `dt`, whose partitions
    /// live under `location` (ending in `/`).
    pub fn projection_parameters(self, location: &str) -> Vec<(String, String)> {
        vec![
            ("projection.enabled".into(), "true".into()),
            ("projection.dt.type".into(), "date".into()),
            ("projection.dt.format".into(), PROJECTION_DATE_FORMAT.into()),
            (
                "projection.dt.range".into(),
                format!("{PROJECTION_RANGE_START},NOW"),
            ),
            ("projection.dt.interval".into(), "1".into()),
            ("projection.dt.interval.unit".into(), "DAYS".into()),
            (
                "storage.location.template".into(),
                format!("{location}{PARTITION_KEY}=${{{PARTITION_KEY}}}/"),
            ),
        ]
    }

    /// `CREATE EXTERNAL TABLE` for Athena, over `location` (`s3://bucket/table/`).
    pub fn ddl(self, database: &str, location: &str, projection: bool) -> String {
        let cols: Vec<String> = self
            .columns()
            .iter()
            .map(|c| format!("  `{}` {}", c.sql_name(), c.ty.athena()))
            .collect();
        let serde_props: Vec<String> = SERDE_PARAMETERS
            .iter()
            .map(|(k, v)| format!("  '{k}' = '{v}'"))
            .collect();
        let mut props: Vec<(String, String)> = TABLE_PARAMETERS
            .iter()
            .filter(|(k, _)| *k != "EXTERNAL")
            .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
            .collect();
        if projection {
            props.extend(self.projection_parameters(location));
        }
        let props: Vec<String> = props
            .iter()
            .map(|(k, v)| format!("  '{k}' = '{v}'"))
            .collect();
        format!(
            "CREATE EXTERNAL TABLE IF NOT EXISTS `{database}`.`{name}` (\n{cols}\n)\n\
             PARTITIONED BY (`{PARTITION_KEY}` string)\n\
             ROW FORMAT SERDE '{SERDE_LIBRARY}'\n\
             WITH SERDEPROPERTIES (\n{serde}\n)\n\
             STORED AS INPUTFORMAT '{INPUT_FORMAT}'\n\
             OUTPUTFORMAT '{OUTPUT_FORMAT}'\n\
             LOCATION '{location}'\n\
             TBLPROPERTIES (\n{props}\n);\n",
            name = self.name(),
            cols = cols.join(",\n"),
            serde = serde_props.join(",\n"),
            props = props.join(",\n"),
        )
    }
}

impl fmt::Display for Table {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_and_detail_types_round_trip() {
        for t in Table::ALL {
            assert_eq!(Table::from_name(t.name()), Some(t));
            assert_eq!(Table::from_detail_type(t.detail_type()), Some(t));
        }
        assert_eq!(Table::from_name("pipeline"), None);
        assert_eq!(
            Table::from_detail_type("CodePipeline Pipeline Execution State Change "),
            None
        );
    }

    #[test]
    fn column_names_are_unique_and_partition_key_is_not_a_column() {
        for t in Table::ALL {
            let mut names: Vec<String> = t.columns().iter().map(Column::sql_name).collect();
            let n = names.len();
            names.sort();
            names.dedup();
            assert_eq!(names.len(), n, "{t}");
            assert!(!names.iter().any(|c| c == PARTITION_KEY));
        }
    }

    #[test]
    fn table_specific_columns() {
        let has = |t: Table, c: &str| t.columns().iter().any(|col| col.name == c);
        assert!(has(Table::Action, "type") && !has(Table::Stage, "type"));
        assert!(has(Table::Stage, "stage") && !has(Table::Pipeline, "stage"));
        assert!(
            has(Table::Pipeline, "executionTrigger") && !has(Table::Action, "executionTrigger")
        );
        assert!(has(Table::Stage, "stageLastRetryAttemptTime"));
        assert!(has(Table::Action, "executionResult"));
    }

    #[test]
    fn ddl_renders_types_partition_and_serde() {
        let ddl = Table::Action.ddl("db", "s3://b/action_execution_state_change/", false);
        assert!(ddl.starts_with(
            "CREATE EXTERNAL TABLE IF NOT EXISTS `db`.`action_execution_state_change` ("
        ));
        assert!(ddl.contains("  `executionattempt` int,"));
        assert!(ddl.contains(
            "  `type` struct<owner:string,category:string,provider:string,version:string>,"
        ));
        assert!(ddl.contains("PARTITIONED BY (`dt` string)"));
        assert!(ddl.contains(SERDE_LIBRARY));
        assert!(ddl.contains("LOCATION 's3://b/action_execution_state_change/'"));
        assert!(!ddl.contains("projection"));
        let projected = Table::Action.ddl("db", "s3://b/action_execution_state_change/", true);
        assert!(projected.contains(
            "'storage.location.template' = 's3://b/action_execution_state_change/dt=${dt}/'"
        ));
        assert!(projected.contains("'projection.dt.type' = 'date'"));
    }
}
