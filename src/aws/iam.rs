//! `cplogs iam-policy`: the minimal IAM policy each command needs, with the database,
//! table, bucket and workgroup ARNs filled in from the configuration.

use serde_json::{Value, json};

use crate::core::schema::Table;

/// The commands a policy can be printed for.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum PolicyCommand {
    /// `repair-partitions` (with --delete-missing and --fix-locations).
    RepairPartitions,
    /// `tables create|show|diff|drop`.
    Tables,
    /// `report`, `query` and `audit` on Athena.
    Report,
}

impl PolicyCommand {
    /// Every command, for the union policy.
    pub const ALL: [PolicyCommand; 3] = [
        PolicyCommand::RepairPartitions,
        PolicyCommand::Tables,
        PolicyCommand::Report,
    ];
}

/// What the ARNs are made of. `*` stands in for what is not known.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PolicyContext {
    /// AWS partition (`aws`).
    pub partition: String,
    /// Region, or `*`.
    pub region: String,
    /// Account id, or `*`.
    pub account: String,
    /// Glue database.
    pub database: String,
    /// Log bucket, or `*`.
    pub bucket: String,
    /// Athena workgroup.
    pub workgroup: String,
    /// Athena result location (`s3://bucket/prefix/`), if configured.
    pub output_location: Option<String>,
}

impl PolicyContext {
    fn glue(&self, resource: &str) -> String {
        format!(
            "arn:{}:glue:{}:{}:{resource}",
            self.partition, self.region, self.account
        )
    }

    fn glue_resources(&self) -> Vec<String> {
        let mut r = vec![
            self.glue("catalog"),
            self.glue(&format!("database/{}", self.database)),
        ];
        r.extend(
            Table::ALL
                .iter()
                .map(|t| self.glue(&format!("table/{}/{}", self.database, t.name()))),
        );
        r
    }

    fn bucket_arn(&self) -> String {
        format!("arn:{}:s3:::{}", self.partition, self.bucket)
    }

    fn table_objects(&self) -> Vec<String> {
        Table::ALL
            .iter()
            .map(|t| format!("{}/{}/*", self.bucket_arn(), t.name()))
            .collect()
    }

    /// The result location as bucket ARN and object ARN pattern.
    fn output_arns(&self) -> (String, String) {
        let (bucket, prefix) = match &self.output_location {
            Some(loc) => {
                let rest = loc.trim_start_matches("s3://");
                let (b, p) = rest.split_once('/').unwrap_or((rest, ""));
                (b.to_owned(), p.trim_end_matches('/').to_owned())
            }
            None => ("*".to_owned(), String::new()),
        };
        let bucket_arn = format!("arn:{}:s3:::{bucket}", self.partition);
        let objects = if prefix.is_empty() {
            format!("{bucket_arn}/*")
        } else {
            format!("{bucket_arn}/{prefix}/*")
        };
        (bucket_arn, objects)
    }
}

fn statement(sid: &str, actions: &[&str], resources: Vec<String>) -> Value {
    let mut actions = actions.to_vec();
    actions.sort_unstable();
    json!({"Sid": sid, "Effect": "Allow", "Action": actions, "Resource": resources})
}

/// The statements one command needs.
pub fn statements(command: PolicyCommand, ctx: &PolicyContext) -> Vec<Value> {
    match command {
        PolicyCommand::RepairPartitions => vec![
            statement(
                "RepairListPrefixes",
                &["s3:ListBucket"],
                vec![ctx.bucket_arn()],
            ),
            statement(
                "RepairGluePartitions",
                &[
                    "glue:GetTable",
                    "glue:GetPartitions",
                    "glue:BatchCreatePartition",
                    "glue:BatchDeletePartition",
                    "glue:BatchUpdatePartition",
                ],
                ctx.glue_resources(),
            ),
        ],
        PolicyCommand::Tables => vec![statement(
            "TablesManage",
            &[
                "glue:GetDatabase",
                "glue:CreateDatabase",
                "glue:GetTable",
                "glue:CreateTable",
                "glue:UpdateTable",
                "glue:DeleteTable",
            ],
            ctx.glue_resources(),
        )],
        PolicyCommand::Report => {
            let (out_bucket, out_objects) = ctx.output_arns();
            vec![
                statement(
                    "ReportAthenaQueries",
                    &[
                        "athena:StartQueryExecution",
                        "athena:GetQueryExecution",
                        "athena:GetQueryResults",
                        "athena:StopQueryExecution",
                    ],
                    vec![format!(
                        "arn:{}:athena:{}:{}:workgroup/{}",
                        ctx.partition, ctx.region, ctx.account, ctx.workgroup
                    )],
                ),
                statement(
                    "ReportGlueCatalog",
                    &["glue:GetDatabase", "glue:GetTable", "glue:GetPartitions"],
                    ctx.glue_resources(),
                ),
                statement(
                    "ReportReadLogs",
                    &["s3:ListBucket", "s3:GetBucketLocation"],
                    vec![ctx.bucket_arn()],
                ),
                statement(
                    "ReportReadLogObjects",
                    &["s3:GetObject"],
                    ctx.table_objects(),
                ),
                statement(
                    "ReportResultBucket",
                    &["s3:GetBucketLocation", "s3:ListBucket"],
                    vec![out_bucket],
                ),
                statement(
                    "ReportResults",
                    &["s3:GetObject", "s3:PutObject", "s3:AbortMultipartUpload"],
                    vec![out_objects],
                ),
            ]
        }
    }
}

/// The policy document for `command`, or for every command.
pub fn policy(command: Option<PolicyCommand>, ctx: &PolicyContext) -> Value {
    let commands: Vec<PolicyCommand> = match command {
        Some(c) => vec![c],
        None => PolicyCommand::ALL.to_vec(),
    };
    let statements: Vec<Value> = commands
        .into_iter()
        .flat_map(|c| statements(c, ctx))
        .collect();
    json!({"Version": "2012-10-17", "Statement": statements})
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ctx() -> PolicyContext {
        PolicyContext {
            partition: "aws".into(),
            region: "eu-west-1".into(),
            account: "123456789012".into(),
            database: "logs_db".into(),
            bucket: "my-logs".into(),
            workgroup: "cplogs".into(),
            output_location: Some("s3://my-results/athena/".into()),
        }
    }

    fn actions(p: &Value) -> Vec<String> {
        p["Statement"]
            .as_array()
            .unwrap()
            .iter()
            .flat_map(|s| s["Action"].as_array().unwrap().iter())
            .map(|a| a.as_str().unwrap().to_owned())
            .collect()
    }

    #[test]
    fn each_command_gets_only_what_it_calls() {
        let tables = policy(Some(PolicyCommand::Tables), &ctx());
        assert!(actions(&tables).iter().all(|a| a.starts_with("glue:")));
        assert!(actions(&tables).contains(&"glue:CreateTable".to_owned()));
        let repair = policy(Some(PolicyCommand::RepairPartitions), &ctx());
        let a = actions(&repair);
        assert!(a.contains(&"s3:ListBucket".to_owned()));
        assert!(
            !a.iter()
                .any(|x| x == "s3:GetObject" || x.starts_with("athena:"))
        );
        let report = policy(Some(PolicyCommand::Report), &ctx());
        let a = actions(&report);
        assert!(a.contains(&"athena:StopQueryExecution".to_owned()));
        assert!(
            !a.iter()
                .any(|x| x.contains("Create") || x.contains("Delete"))
        );
    }

    #[test]
    fn arns_come_from_the_configuration() {
        let text = policy(None, &ctx()).to_string();
        for arn in [
            "arn:aws:glue:eu-west-1:123456789012:catalog",
            "arn:aws:glue:eu-west-1:123456789012:database/logs_db",
            "arn:aws:glue:eu-west-1:123456789012:table/logs_db/action_execution_state_change",
            "arn:aws:s3:::my-logs",
            "arn:aws:s3:::my-logs/pipeline_execution_state_change/*",
            "arn:aws:athena:eu-west-1:123456789012:workgroup/cplogs",
            "arn:aws:s3:::my-results/athena/*",
        ] {
            assert!(text.contains(arn), "{arn}");
        }
        assert!(!text.contains("\"Resource\":[\"*\"]"));
    }
}
