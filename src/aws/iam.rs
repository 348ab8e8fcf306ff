//! `cplogs iam-policy`: the minimal IAM policy each command needs, with the database,
//! table, bucket and workgroup ARNs filled in from the configuration.
//!
//! One cohesive thing (over 400 lines with tests): every command's policy and the rules they keep.

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
    /// `backfill` and `coverage --fix`: CodePipeline's history, the roles of other
    /// accounts (`--role-arn`), writing into the bucket and registering partitions.
    Backfill,
}

impl PolicyCommand {
    /// Every command, for the union policy.
    pub const ALL: [PolicyCommand; 4] = [
        PolicyCommand::RepairPartitions,
        PolicyCommand::Tables,
        PolicyCommand::Report,
        PolicyCommand::Backfill,
    ];
}

/// What the ARNs are made of. The log bucket and the result location are required
/// by the commands that read them ([`PolicyCommand::needs_bucket`],
/// [`PolicyCommand::needs_output_location`]); a policy is never widened to any bucket
/// in their place. Only the region and the account may be unknown (`*` in the ARNs:
/// they name where, not which data).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PolicyContext {
    /// AWS partition (`aws`).
    pub partition: String,
    /// Region; `None`: any (`*`).
    pub region: Option<String>,
    /// Account id; `None`: any (`*`).
    pub account: Option<String>,
    /// Glue database.
    pub database: String,
    /// Log bucket.
    pub bucket: Option<String>,
    /// Athena workgroup.
    pub workgroup: String,
    /// Athena result location (`s3://bucket/prefix/`).
    pub output_location: Option<String>,
    /// Roles `backfill` assumes in other accounts (`--role-arn`).
    pub roles: Vec<String>,
}

/// Why a policy cannot be written without granting more than the command needs.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PolicyError {
    /// The command reads the log bucket, and none is configured.
    #[error(
        "the policy of `{0}` names the log bucket: pass --bucket (or CPLOGS_BUCKET, or `bucket` in the config file)"
    )]
    NoBucket(&'static str),
    /// The command writes Athena results, and no location is known.
    #[error(
        "the policy of `{0}` names the Athena result location: pass --output-location s3://BUCKET/PREFIX/ (or CPLOGS_OUTPUT_LOCATION, or `output_location` in the config file)"
    )]
    NoOutputLocation(&'static str),
    /// A value that would not name exactly one bucket, database, table or workgroup.
    #[error("{what} {value:?}: {why}")]
    Invalid {
        /// Which setting.
        what: &'static str,
        /// Its value.
        value: String,
        /// What is wrong with it.
        why: &'static str,
    },
}

impl PolicyCommand {
    /// The command's name on the command line.
    pub fn name(self) -> &'static str {
        match self {
            PolicyCommand::RepairPartitions => "repair-partitions",
            PolicyCommand::Tables => "tables",
            PolicyCommand::Report => "report",
            PolicyCommand::Backfill => "backfill",
        }
    }

    /// Whether the policy names the log bucket.
    pub fn needs_bucket(self) -> bool {
        matches!(
            self,
            PolicyCommand::RepairPartitions | PolicyCommand::Report | PolicyCommand::Backfill
        )
    }

    /// Whether the policy names the Athena result location.
    pub fn needs_output_location(self) -> bool {
        matches!(self, PolicyCommand::Report)
    }
}

/// The commands a policy for `command` covers (`None`: every command).
pub fn commands(command: Option<PolicyCommand>) -> Vec<PolicyCommand> {
    match command {
        Some(c) => vec![c],
        None => PolicyCommand::ALL.to_vec(),
    }
}

/// S3's rules for a bucket name (3 to 63 lowercase letters, digits, dots and
/// hyphens, starting and ending with a letter or digit): such a name holds no IAM
/// wildcard (`*`, `?`) or policy variable (`$`).
fn check_bucket(what: &'static str, name: &str) -> Result<(), PolicyError> {
    let ok = (3..=63).contains(&name.len())
        && name
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'.' || b == b'-')
        && name.starts_with(|c: char| c.is_ascii_alphanumeric())
        && name.ends_with(|c: char| c.is_ascii_alphanumeric());
    if ok {
        Ok(())
    } else {
        Err(PolicyError::Invalid {
            what,
            value: name.to_owned(),
            why: "not an S3 bucket name (3-63 lowercase letters, digits, dots and hyphens)",
        })
    }
}

/// A Glue database or Athena workgroup name of letters, digits, `_`, `-` and `.`
/// (Athena's alphabet for workgroups; its database names are narrower still), so
/// never a wildcard or a policy variable in an ARN.
fn check_name(what: &'static str, name: &str) -> Result<(), PolicyError> {
    if !name.is_empty()
        && name.len() <= 255
        && name
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'_' | b'-' | b'.'))
    {
        Ok(())
    } else {
        Err(PolicyError::Invalid {
            what,
            value: name.to_owned(),
            why: "not a name of letters, digits, '_', '-' and '.' (as Athena accepts), which a policy can name exactly",
        })
    }
}

/// Text as IAM reads it literally in a resource ARN: `*`, `?` and `$` are written
/// `${*}`, `${?}` and `${$}` (policy language 2012-10-17).
fn iam_literal(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '*' | '?' | '$' => {
                out.push_str("${");
                out.push(c);
                out.push('}');
            }
            c => out.push(c),
        }
    }
    out
}

impl PolicyContext {
    fn region(&self) -> &str {
        self.region.as_deref().unwrap_or("*")
    }

    fn account(&self) -> &str {
        self.account.as_deref().unwrap_or("*")
    }

    fn glue(&self, resource: &str) -> String {
        format!(
            "arn:{}:glue:{}:{}:{resource}",
            self.partition,
            self.region(),
            self.account()
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

    fn bucket_arn(&self, command: PolicyCommand) -> Result<String, PolicyError> {
        let bucket = self
            .bucket
            .as_deref()
            .ok_or(PolicyError::NoBucket(command.name()))?;
        Ok(format!("arn:{}:s3:::{bucket}", self.partition))
    }

    fn table_objects(&self, command: PolicyCommand) -> Result<Vec<String>, PolicyError> {
        let bucket = self.bucket_arn(command)?;
        Ok(Table::ALL
            .iter()
            .map(|t| format!("{bucket}/{}/*", t.name()))
            .collect())
    }

    /// The result location as bucket ARN and the ARN of the objects under its prefix.
    fn output_arns(&self, command: PolicyCommand) -> Result<(String, String), PolicyError> {
        let location = self
            .output_location
            .as_deref()
            .ok_or(PolicyError::NoOutputLocation(command.name()))?;
        let (bucket, prefix) = split_location(location)?;
        let bucket_arn = format!("arn:{}:s3:::{bucket}", self.partition);
        let objects = if prefix.is_empty() {
            format!("{bucket_arn}/*")
        } else {
            format!("{bucket_arn}/{}/*", iam_literal(prefix))
        };
        Ok((bucket_arn, objects))
    }

    /// Every value that goes into an ARN names exactly one thing.
    fn check(&self) -> Result<(), PolicyError> {
        if let Some(bucket) = &self.bucket {
            check_bucket("bucket", bucket)?;
        }
        if let Some(location) = &self.output_location {
            split_location(location)?;
        }
        check_name("database", &self.database)?;
        check_name("workgroup", &self.workgroup)?;
        for (what, value) in [("region", &self.region), ("account", &self.account)] {
            if let Some(v) = value
                && (v.is_empty()
                    || !v
                        .bytes()
                        .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-'))
            {
                return Err(PolicyError::Invalid {
                    what,
                    value: v.clone(),
                    why: "not an AWS region or account id",
                });
            }
        }
        Ok(())
    }
}

/// `s3://bucket/prefix/` as bucket and prefix (without its trailing `/`).
fn split_location(location: &str) -> Result<(&str, &str), PolicyError> {
    let invalid = |why| PolicyError::Invalid {
        what: "output location",
        value: location.to_owned(),
        why,
    };
    let rest = location
        .strip_prefix("s3://")
        .ok_or_else(|| invalid("not an s3://BUCKET/PREFIX/ URL"))?;
    let (bucket, prefix) = rest.split_once('/').unwrap_or((rest, ""));
    check_bucket("output location bucket", bucket)?;
    Ok((bucket, prefix.trim_end_matches('/')))
}

fn statement(sid: &str, actions: &[&str], resources: Vec<String>) -> Value {
    let mut actions = actions.to_vec();
    actions.sort_unstable();
    json!({"Sid": sid, "Effect": "Allow", "Action": actions, "Resource": resources})
}

/// The statements one command needs.
pub fn statements(command: PolicyCommand, ctx: &PolicyContext) -> Result<Vec<Value>, PolicyError> {
    ctx.check()?;
    Ok(match command {
        PolicyCommand::RepairPartitions => vec![
            statement(
                "RepairListPrefixes",
                &["s3:ListBucket"],
                vec![ctx.bucket_arn(command)?],
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
            let (out_bucket, out_objects) = ctx.output_arns(command)?;
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
                        ctx.partition,
                        ctx.region(),
                        ctx.account(),
                        ctx.workgroup
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
                    vec![ctx.bucket_arn(command)?],
                ),
                statement(
                    "ReportReadLogObjects",
                    &["s3:GetObject"],
                    ctx.table_objects(command)?,
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
        PolicyCommand::Backfill => backfill(ctx)?,
    })
}

/// The statements of `backfill`: reading CodePipeline's history in the caller's
/// account (ListPipelines has no resource-level permission), assuming the given roles
/// for other accounts, reading and writing the table objects, registering partitions.
fn backfill(ctx: &PolicyContext) -> Result<Vec<Value>, PolicyError> {
    let command = PolicyCommand::Backfill;
    let mut out = vec![
        statement(
            "BackfillListPipelines",
            &["codepipeline:ListPipelines"],
            vec!["*".into()],
        ),
        statement(
            "BackfillPipelineHistory",
            &[
                "codepipeline:ListPipelineExecutions",
                "codepipeline:ListActionExecutions",
                "codepipeline:GetPipelineExecution",
            ],
            vec![format!(
                "arn:{}:codepipeline:{}:{}:*",
                ctx.partition,
                ctx.region(),
                ctx.account()
            )],
        ),
        statement(
            "BackfillListLogs",
            &["s3:ListBucket"],
            vec![ctx.bucket_arn(command)?],
        ),
        statement(
            "BackfillWriteLogObjects",
            &["s3:GetObject", "s3:PutObject"],
            ctx.table_objects(command)?,
        ),
        statement(
            "BackfillGluePartitions",
            &[
                "glue:GetTable",
                "glue:GetPartitions",
                "glue:BatchCreatePartition",
            ],
            ctx.glue_resources(),
        ),
    ];
    if !ctx.roles.is_empty() {
        out.push(statement(
            "BackfillAssumeRoles",
            &["sts:AssumeRole"],
            ctx.roles.iter().map(|r| iam_literal(r)).collect(),
        ));
    }
    Ok(out)
}

/// The policy document for `command`, or for every command.
pub fn policy(command: Option<PolicyCommand>, ctx: &PolicyContext) -> Result<Value, PolicyError> {
    let mut all = Vec::new();
    for c in commands(command) {
        all.extend(statements(c, ctx)?);
    }
    // "2012-10-17": the version in which ${*}-style escapes are literal text.
    Ok(json!({"Version": "2012-10-17", "Statement": all}))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ctx() -> PolicyContext {
        PolicyContext {
            partition: "aws".into(),
            region: Some("eu-west-1".into()),
            account: Some("123456789012".into()),
            database: "logs_db".into(),
            bucket: Some("my-logs".into()),
            workgroup: "cplogs".into(),
            output_location: Some("s3://my-results/athena/".into()),
            roles: vec!["arn:aws:iam::111122223333:role/cplogs-backfill".into()],
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
        let tables = policy(Some(PolicyCommand::Tables), &ctx()).unwrap();
        assert!(actions(&tables).iter().all(|a| a.starts_with("glue:")));
        assert!(actions(&tables).contains(&"glue:CreateTable".to_owned()));
        let repair = policy(Some(PolicyCommand::RepairPartitions), &ctx()).unwrap();
        let a = actions(&repair);
        assert!(a.contains(&"s3:ListBucket".to_owned()));
        assert!(
            !a.iter()
                .any(|x| x == "s3:GetObject" || x.starts_with("athena:"))
        );
        let report = policy(Some(PolicyCommand::Report), &ctx()).unwrap();
        let a = actions(&report);
        assert!(a.contains(&"athena:StopQueryExecution".to_owned()));
        assert!(
            !a.iter()
                .any(|x| x.contains("Create") || x.contains("Delete"))
        );
    }

    #[test]
    fn arns_come_from_the_configuration() {
        let text = policy(None, &ctx()).unwrap().to_string();
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
        let doc = policy(None, &ctx()).unwrap();
        let bare: Vec<&Value> = doc["Statement"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|s| s["Resource"] == json!(["*"]))
            .map(|s| &s["Sid"])
            .collect();
        assert_eq!(bare, [&json!("BackfillListPipelines")], "{text}");
    }

    /// Every `Resource` string anywhere in `doc`, with the actions of its statement.
    fn resources(doc: &Value) -> Vec<(Vec<String>, String)> {
        let mut out = Vec::new();
        fn walk(v: &Value, out: &mut Vec<(Vec<String>, String)>) {
            match v {
                Value::Object(m) => {
                    if let Some(r) = m.get("Resource") {
                        let actions: Vec<String> = match m.get("Action") {
                            Some(Value::Array(a)) => {
                                a.iter().map(|x| x.as_str().unwrap().to_owned()).collect()
                            }
                            Some(Value::String(a)) => vec![a.clone()],
                            _ => vec![],
                        };
                        let list = match r {
                            Value::Array(a) => a.clone(),
                            other => vec![other.clone()],
                        };
                        for r in list {
                            out.push((actions.clone(), r.as_str().unwrap().to_owned()));
                        }
                    }
                    m.values().for_each(|v| walk(v, out));
                }
                Value::Array(a) => a.iter().for_each(|v| walk(v, out)),
                _ => {}
            }
        }
        walk(doc, &mut out);
        out
    }

    /// The rules of issue 14: no `*` in an S3 bucket name, no bare `*` resource on S3
    /// or Glue actions, no `*` as a Glue database or table. Returns the first broken.
    fn wildcard_data_access(doc: &Value) -> Result<(), String> {
        let found = resources(doc);
        if found.is_empty() {
            return Err("no resources".into());
        }
        for (actions, r) in found {
            let data = actions
                .iter()
                .any(|a| a.starts_with("s3:") || a.starts_with("glue:"));
            // ListPipelines has no resource-level permission: IAM wants `*` for it.
            if r == "*" && actions != ["codepipeline:ListPipelines"] {
                return Err(format!("bare * on {actions:?}"));
            }
            if let Some(rest) = r.strip_prefix("arn:aws:s3:::") {
                let bucket = rest.split('/').next().unwrap();
                if bucket.is_empty() || bucket.contains(['*', '?']) {
                    return Err(format!("wildcard bucket in {r}"));
                }
            } else if r.starts_with("arn:aws:glue:") {
                let what = r.splitn(6, ':').nth(5).unwrap();
                let mut parts = what.split('/');
                let kind = parts.next().unwrap();
                let names: Vec<&str> = parts.collect();
                let want = match kind {
                    "catalog" => 0,
                    "database" => 1,
                    "table" => 2,
                    other => return Err(format!("unexpected Glue resource {other} in {r}")),
                };
                if names.len() != want
                    || names.iter().any(|n| n.is_empty() || n.contains(['*', '?']))
                {
                    return Err(format!("Glue wildcard in {r}"));
                }
            } else if data && !r.starts_with("arn:aws:athena:") {
                return Err(format!("unexpected resource {r} for {actions:?}"));
            }
        }
        Ok(())
    }

    #[test]
    fn the_rule_check_can_fail() {
        for bad in [
            json!({"Statement": [{"Action": ["s3:GetObject"], "Resource": "*"}]}),
            json!({"Statement": [{"Action": ["s3:GetObject"], "Resource": ["arn:aws:s3:::*/*"]}]}),
            json!({"Statement": [{"Action": ["s3:ListBucket"], "Resource": ["arn:aws:s3:::logs-*"]}]}),
            json!({"Statement": [{"Action": ["glue:GetTable"], "Resource": ["arn:aws:glue:*:*:table/db/*"]}]}),
            json!({"Statement": [{"Action": ["glue:GetTable"], "Resource": ["arn:aws:glue:*:*:database/*"]}]}),
            json!({"Statement": []}),
        ] {
            assert!(wildcard_data_access(&bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn no_generated_policy_grants_wildcard_data_access() {
        let mut checked = 0;
        let mut commands: Vec<Option<PolicyCommand>> = vec![None];
        commands.extend(PolicyCommand::ALL.map(Some));
        for command in commands {
            for region in [None, Some("eu-west-1")] {
                for account in [None, Some("123456789012")] {
                    for bucket in [None, Some("my-logs")] {
                        for output in [
                            None,
                            Some("s3://my-results/athena/"),
                            Some("s3://my-results"),
                        ] {
                            let ctx = PolicyContext {
                                region: region.map(Into::into),
                                account: account.map(Into::into),
                                bucket: bucket.map(Into::into),
                                output_location: output.map(Into::into),
                                ..ctx()
                            };
                            let wanted = super::commands(command);
                            let need_bucket = wanted.iter().any(|c| c.needs_bucket());
                            let need_output = wanted.iter().any(|c| c.needs_output_location());
                            match policy(command, &ctx) {
                                Ok(doc) => {
                                    assert!(
                                        !(need_bucket && bucket.is_none()),
                                        "{command:?}: no bucket, yet a policy"
                                    );
                                    assert!(
                                        !(need_output && output.is_none()),
                                        "{command:?}: no location, yet a policy"
                                    );
                                    wildcard_data_access(&doc)
                                        .unwrap_or_else(|e| panic!("{command:?} {ctx:?}: {e}"));
                                    let text = doc.to_string();
                                    if let Some(r) = region {
                                        assert!(text.contains(&format!(":{r}:")), "{text}");
                                    }
                                    if let Some(a) = account {
                                        assert!(text.contains(&format!(":{a}:")), "{text}");
                                    }
                                    checked += 1;
                                }
                                Err(PolicyError::NoBucket(_)) => {
                                    assert!(need_bucket && bucket.is_none())
                                }
                                Err(PolicyError::NoOutputLocation(_)) => {
                                    assert!(need_output && output.is_none())
                                }
                                Err(e) => panic!("{command:?} {ctx:?}: {e}"),
                            }
                        }
                    }
                }
            }
        }
        // Per region and account: all (2 locations), repair-partitions (3), tables (6),
        // report (2), backfill (3); so every case that should give a policy gave one.
        assert_eq!(checked, (2 + 3 + 6 + 2 + 3) * 4);
    }

    #[test]
    fn values_that_are_not_one_name_are_refused() {
        let cases: Vec<PolicyContext> = vec![
            PolicyContext {
                bucket: Some("*".into()),
                ..ctx()
            },
            PolicyContext {
                bucket: Some("logs-*".into()),
                ..ctx()
            },
            PolicyContext {
                bucket: Some("Logs".into()),
                ..ctx()
            },
            PolicyContext {
                output_location: Some("s3://*/athena/".into()),
                ..ctx()
            },
            PolicyContext {
                output_location: Some("my-results/athena/".into()),
                ..ctx()
            },
            PolicyContext {
                database: "*".into(),
                ..ctx()
            },
            PolicyContext {
                database: "logs_?".into(),
                ..ctx()
            },
            PolicyContext {
                workgroup: "*".into(),
                ..ctx()
            },
            PolicyContext {
                region: Some("*".into()),
                ..ctx()
            },
        ];
        for ctx in cases {
            assert!(
                matches!(policy(None, &ctx), Err(PolicyError::Invalid { .. })),
                "{ctx:?}"
            );
        }
    }

    #[test]
    fn backfill_reads_pipelines_assumes_only_the_given_roles_and_writes_table_objects() {
        let doc = policy(Some(PolicyCommand::Backfill), &ctx()).unwrap();
        let text = doc.to_string();
        for action in [
            "codepipeline:ListPipelines",
            "codepipeline:ListPipelineExecutions",
            "codepipeline:ListActionExecutions",
            "codepipeline:GetPipelineExecution",
            "sts:AssumeRole",
            "s3:PutObject",
            "glue:BatchCreatePartition",
        ] {
            assert!(text.contains(action), "{action}: {text}");
        }
        let assume = doc["Statement"]
            .as_array()
            .unwrap()
            .iter()
            .find(|s| s["Sid"] == "BackfillAssumeRoles")
            .unwrap();
        assert_eq!(
            assume["Resource"],
            json!(["arn:aws:iam::111122223333:role/cplogs-backfill"])
        );
        let history = doc["Statement"]
            .as_array()
            .unwrap()
            .iter()
            .find(|s| s["Sid"] == "BackfillPipelineHistory")
            .unwrap();
        assert_eq!(
            history["Resource"],
            json!(["arn:aws:codepipeline:eu-west-1:123456789012:*"])
        );
        // Without roles, no sts:AssumeRole at all.
        let own = PolicyContext {
            roles: Vec::new(),
            ..ctx()
        };
        let text = policy(Some(PolicyCommand::Backfill), &own)
            .unwrap()
            .to_string();
        assert!(!text.contains("sts:AssumeRole"), "{text}");
    }

    #[test]
    fn a_result_prefix_is_literal_text() {
        let ctx = PolicyContext {
            output_location: Some("s3://my-results/a*b?c$d/".into()),
            ..ctx()
        };
        let text = policy(Some(PolicyCommand::Report), &ctx)
            .unwrap()
            .to_string();
        assert!(
            text.contains("arn:aws:s3:::my-results/a${*}b${?}c${$}d/*"),
            "{text}"
        );
    }
}
