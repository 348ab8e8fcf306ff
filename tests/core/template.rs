//! `infra/template.yaml` against the code: its Glue tables are exactly the schema's
//! rendering, and each table's rule, stream and transform point at that table.
//! `CPLOGS_UPDATE_TEMPLATE=1 cargo test --test core template` rewrites the generated block.
//!
//! The template's tables are also deployed here in miniature (intrinsic functions
//! resolved as CloudFormation would, for both values of `UsePartitionProjection`) and
//! compared with `cplogs::aws::tables::diff`, the comparison `cplogs tables diff` and
//! `create` use, so a freshly deployed stack shows no drift.

use std::collections::HashMap;
use std::path::PathBuf;

use aws_sdk_glue::types::{Column, SerDeInfo, StorageDescriptor, Table as GlueTable, TableInput};
use cplogs::Table;
use cplogs::aws::glue::table_input;
use cplogs::aws::tables::{Difference, declared_projection, diff, updated_parameters};
use cplogs::aws::template::{
    BEGIN_MARKER, END_MARKER, PROJECTION_CONDITION, glue_tables_yaml, logical_id,
};
use serde_yaml::Value;

fn template() -> (PathBuf, String) {
    let path = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("infra/template.yaml");
    let text = std::fs::read_to_string(&path).unwrap();
    (path, text)
}

#[test]
fn glue_tables_are_the_schema() {
    let (path, text) = template();
    let begin = text
        .find(BEGIN_MARKER)
        .expect("begin marker in the template");
    let end = text.find(END_MARKER).expect("end marker in the template") + END_MARKER.len() + 1;
    let want = glue_tables_yaml();
    if text[begin..end] == want {
        return;
    }
    if std::env::var_os("CPLOGS_UPDATE_TEMPLATE").is_some() {
        let updated = format!("{}{want}{}", &text[..begin], &text[end..]);
        std::fs::write(&path, updated).unwrap();
        return;
    }
    panic!(
        "the Glue tables in infra/template.yaml differ from src/schema.rs; \
         run `CPLOGS_UPDATE_TEMPLATE=1 cargo test --test core template` and review the diff"
    );
}

#[test]
fn every_table_has_its_rule_stream_and_transform() {
    let (_, text) = template();
    for t in Table::ALL {
        let name = t.name();
        assert!(
            text.contains(&format!("detail-type: [\"{}\"]", t.detail_type())),
            "{name}"
        );
        assert!(text.contains(&format!("CPLOGS_TABLE: {name}")), "{name}");
        assert!(
            text.contains(&format!(
                "Prefix: \"{name}/dt=!{{partitionKeyFromLambda:dt}}/\""
            )),
            "{name}: dynamic partitioning from the transform's dt key"
        );
        assert!(
            text.contains(&format!(
                "ErrorOutputPrefix: \"errors/{name}/!{{firehose:error-output-type}}/!{{timestamp:yyyy/MM/dd}}/\""
            )),
            "{name}: error prefix"
        );
    }
    for line in text.lines().filter(|l| l.contains("!{timestamp:")) {
        assert!(
            !line.contains("YYYY"),
            "Firehose timestamps use yyyy, not YYYY: {line}"
        );
    }
    assert_eq!(text.matches("BuildMethod: rust-cargolambda").count(), 4);
    assert_eq!(text.matches("Binary: cplogs-transform").count(), 3);
    assert_eq!(text.matches("Binary: cplogs-partition").count(), 1);
}

/// What the template's `${LogBucket}` names in the account and region these tests
/// deploy to (`<BucketNamePrefix>-<account>-<region>`).
const BUCKET: &str = "cplogs-logs-123456789012-eu-west-1";
const ACCOUNT: &str = "123456789012";
const REGION: &str = "eu-west-1";
const DATABASE: &str = "codepipeline_event_logs";

fn parsed_template() -> Value {
    serde_yaml::from_str(&template().1).expect("infra/template.yaml is YAML")
}

/// The value of a `!Ref` (or of `${Name}` in a `!Sub`).
fn reference(name: &str) -> &'static str {
    match name {
        "LogBucket" => BUCKET,
        "GlueDatabase" => DATABASE,
        "AWS::AccountId" => ACCOUNT,
        "AWS::Region" => REGION,
        _ => panic!("the test does not resolve a reference to {name}"),
    }
}

/// `Fn::Sub` on a string: `${Name}` is a reference, `${!x}` the literal `${x}`.
fn sub(s: &str) -> String {
    let mut out = String::new();
    let mut rest = s;
    while let Some(i) = rest.find("${") {
        out.push_str(&rest[..i]);
        let end = i + rest[i..].find('}').expect("a closing brace in !Sub");
        let name = &rest[i + 2..end];
        match name.strip_prefix('!') {
            Some(literal) => out.push_str(&format!("${{{literal}}}")),
            None => out.push_str(reference(name)),
        }
        rest = &rest[end + 1..];
    }
    out.push_str(rest);
    out
}

/// The intrinsic functions of `v` resolved as CloudFormation does when the template's
/// projection condition is `projection`. Any other function fails the test, so a new
/// one in the tables cannot be skipped silently.
fn resolve(v: &Value, projection: bool) -> Value {
    match v {
        Value::Tagged(t) if t.tag == "Sub" => {
            Value::String(sub(t.value.as_str().expect("!Sub of a string")))
        }
        Value::Tagged(t) if t.tag == "Ref" => {
            Value::String(reference(t.value.as_str().expect("!Ref of a name")).to_owned())
        }
        Value::Tagged(t) if t.tag == "If" => {
            let args = t.value.as_sequence().expect("!If [condition, then, else]");
            assert_eq!(args.len(), 3, "!If [condition, then, else]");
            assert_eq!(args[0].as_str(), Some(PROJECTION_CONDITION));
            resolve(&args[if projection { 1 } else { 2 }], projection)
        }
        Value::Tagged(t) => panic!("the test does not resolve !{}", t.tag),
        Value::Sequence(items) => items.iter().map(|v| resolve(v, projection)).collect(),
        Value::Mapping(m) => Value::Mapping(
            m.iter()
                .map(|(k, v)| (k.clone(), resolve(v, projection)))
                .collect(),
        ),
        other => other.clone(),
    }
}

fn field<'a>(v: &'a Value, key: &str) -> &'a Value {
    v.get(key)
        .unwrap_or_else(|| panic!("no {key} in the table resource"))
}

/// A scalar as CloudFormation passes it to a string property.
fn text(v: &Value) -> String {
    match v {
        Value::String(s) => s.clone(),
        Value::Bool(b) => b.to_string(),
        Value::Number(n) => n.to_string(),
        other => panic!("not a scalar: {other:?}"),
    }
}

fn string_map(v: &Value) -> HashMap<String, String> {
    v.as_mapping()
        .expect("a mapping of parameters")
        .iter()
        .map(|(k, v)| (text(k), text(v)))
        .collect()
}

fn glue_columns(v: &Value) -> Vec<Column> {
    v.as_sequence()
        .expect("a list of columns")
        .iter()
        .map(|c| {
            Column::builder()
                .name(text(field(c, "Name")))
                .r#type(text(field(c, "Type")))
                .set_comment(c.get("Comment").map(text))
                .build()
                .unwrap()
        })
        .collect()
}

/// The `TableInput` the template's resource for `table` sends to Glue when its
/// projection condition is `projection`.
fn template_input(template: &Value, table: Table, projection: bool) -> TableInput {
    let resource = field(field(template, "Resources"), &logical_id(table));
    assert_eq!(text(field(resource, "Type")), "AWS::Glue::Table");
    let props = resolve(field(resource, "Properties"), projection);
    assert_eq!(text(field(&props, "DatabaseName")), DATABASE);
    let input = field(&props, "TableInput");
    let sd = field(input, "StorageDescriptor");
    let serde = field(sd, "SerdeInfo");
    TableInput::builder()
        .name(text(field(input, "Name")))
        .description(text(field(input, "Description")))
        .table_type(text(field(input, "TableType")))
        .set_parameters(Some(string_map(field(input, "Parameters"))))
        .set_partition_keys(Some(glue_columns(field(input, "PartitionKeys"))))
        .storage_descriptor(
            StorageDescriptor::builder()
                .set_columns(Some(glue_columns(field(sd, "Columns"))))
                .location(text(field(sd, "Location")))
                .input_format(text(field(sd, "InputFormat")))
                .output_format(text(field(sd, "OutputFormat")))
                .compressed(field(sd, "Compressed").as_bool().expect("Compressed: bool"))
                .serde_info(
                    SerDeInfo::builder()
                        .serialization_library(text(field(serde, "SerializationLibrary")))
                        .set_parameters(Some(string_map(field(serde, "Parameters"))))
                        .build(),
                )
                .build(),
        )
        .build()
        .unwrap()
}

/// The table Glue holds after `input` was sent.
fn stored(input: &TableInput) -> GlueTable {
    GlueTable::builder()
        .name(input.name())
        .database_name(DATABASE)
        .set_description(input.description().map(str::to_owned))
        .set_table_type(input.table_type().map(str::to_owned))
        .set_parameters(input.parameters().cloned())
        .set_partition_keys(Some(input.partition_keys().to_vec()))
        .set_storage_descriptor(input.storage_descriptor().cloned())
        .build()
        .unwrap()
}

fn whats(diffs: &[Difference]) -> Vec<&str> {
    diffs.iter().map(|d| d.what.as_str()).collect()
}

#[test]
fn template_tables_equal_the_variant_they_declare() {
    let template = parsed_template();
    let glue_tables = field(&template, "Resources")
        .as_mapping()
        .unwrap()
        .values()
        .filter(|r| r.get("Type").and_then(Value::as_str) == Some("AWS::Glue::Table"))
        .count();
    assert_eq!(glue_tables, Table::ALL.len());
    for projection in [false, true] {
        for table in Table::ALL {
            let deployed = stored(&template_input(&template, table, projection));
            let declared = declared_projection(&deployed);
            assert_eq!(declared, projection, "{table}: projection.enabled");
            let schema = table_input(table, BUCKET, declared).unwrap();
            assert_eq!(
                diff(&schema, &deployed),
                [],
                "{table} with UsePartitionProjection={projection}"
            );
            // Asked explicitly for the other variant, the table is drift.
            let other = table_input(table, BUCKET, !declared).unwrap();
            let differences = diff(&other, &deployed);
            assert!(
                whats(&differences).contains(&"parameter projection.enabled"),
                "{table} with UsePartitionProjection={projection}: {differences:?}"
            );
        }
    }
}

#[test]
fn a_real_change_to_a_template_table_is_drift() {
    let template = parsed_template();
    for projection in [false, true] {
        for table in Table::ALL {
            let schema = table_input(table, BUCKET, projection).unwrap();
            let input = template_input(&template, table, projection);

            let mut dropped = input.clone();
            let sd = dropped.storage_descriptor.as_mut().unwrap();
            let gone = sd.columns.as_mut().unwrap().pop().unwrap();
            assert_eq!(
                whats(&diff(&schema, &stored(&dropped))),
                [format!("column {}", gone.name())],
                "{table}, projection {projection}"
            );

            let mut moved = input.clone();
            moved.storage_descriptor.as_mut().unwrap().location = Some("s3://elsewhere/".into());
            assert_eq!(whats(&diff(&schema, &stored(&moved))), ["location"]);

            // The partition template matters only while projection is on.
            let mut retargeted = input.clone();
            retargeted.parameters.as_mut().unwrap().insert(
                "storage.location.template".into(),
                "s3://elsewhere/dt=${dt}/".into(),
            );
            let want: &[&str] = if projection {
                &["parameter storage.location.template"]
            } else {
                &[]
            };
            assert_eq!(whats(&diff(&schema, &stored(&retargeted))), want);
        }
    }
}

#[test]
fn projection_enabled_is_read_by_meaning() {
    let template = parsed_template();
    let table = Table::Action;
    let with = |input: &TableInput, key: &str, value: Option<&str>| {
        let mut input = input.clone();
        let params = input.parameters.as_mut().unwrap();
        match value {
            Some(v) => params.insert(key.into(), v.into()),
            None => params.remove(key),
        };
        stored(&input)
    };
    let off = template_input(&template, table, false);
    let plain = table_input(table, BUCKET, false).unwrap();
    // Absent is "false".
    let absent = with(&off, "projection.enabled", None);
    assert!(!declared_projection(&absent));
    assert_eq!(diff(&plain, &absent), []);
    // Athena reads the flag case-insensitively.
    let on = template_input(&template, table, true);
    let upper = with(&on, "projection.enabled", Some("TRUE"));
    assert!(declared_projection(&upper));
    assert_eq!(diff(&table_input(table, BUCKET, true).unwrap(), &upper), []);
    assert_eq!(
        whats(&diff(&plain, &upper))[0],
        "parameter projection.enabled"
    );
}

#[test]
fn an_update_keeps_the_template_parameters() {
    let template = parsed_template();
    for projection in [false, true] {
        for table in Table::ALL {
            let mut input = template_input(&template, table, projection);
            // A parameter someone else set.
            input
                .parameters
                .as_mut()
                .unwrap()
                .insert("has_encrypted_data".into(), "true".into());
            let deployed = stored(&input);
            let theirs = deployed.parameters().unwrap();

            // No flag: the table's own variant, nothing of theirs changes.
            let own = declared_projection(&deployed);
            let schema = table_input(table, BUCKET, own).unwrap();
            assert_eq!(&updated_parameters(&schema, &deployed, own), theirs);

            for variant in [false, true] {
                let schema = table_input(table, BUCKET, variant).unwrap();
                let params = updated_parameters(&schema, &deployed, variant);
                assert_eq!(params["has_encrypted_data"], "true");
                assert_eq!(params["projection.enabled"], variant.to_string());
                let mut updated = input.clone();
                updated.parameters = Some(params);
                assert_eq!(diff(&schema, &stored(&updated)), [], "{table} {variant}");
            }
        }
    }
}

// What the stack does when something breaks (issue 14, item 5): the partition
// Lambda's on-failure queue, the alarms and whom they notify, the expiry of Athena
// results. Each rule is a function returning the first way the template breaks it,
// run on the template (it must hold) and on templates broken on purpose (it must
// notice), so no assertion here can pass vacuously.

/// A resolved value standing for `!Ref name` of a resource.
fn ref_marker(name: &str) -> String {
    format!("{{{{ref {name}}}}}")
}

/// A resolved value standing for `!GetAtt name.attribute`.
fn getatt_marker(name_attr: &str) -> String {
    format!("{{{{getatt {name_attr}}}}}")
}

/// One deployment of the template: parameter values (the defaults unless given) and
/// the conditions they make true, evaluated from the template's own `Conditions`.
struct Stack<'a> {
    template: &'a Value,
    params: HashMap<String, String>,
}

impl<'a> Stack<'a> {
    fn deploy(template: &'a Value, overrides: &[(&str, &str)]) -> Self {
        let mut params: HashMap<String, String> = field(template, "Parameters")
            .as_mapping()
            .unwrap()
            .iter()
            .map(|(k, v)| (text(k), v.get("Default").map(text).unwrap_or_default()))
            .collect();
        for (k, v) in overrides {
            assert!(params.contains_key(*k), "no parameter {k} in the template");
            params.insert((*k).to_owned(), (*v).to_owned());
        }
        Stack { template, params }
    }

    fn param(&self, name: &str) -> &str {
        &self.params[name]
    }

    fn raw_resources(&self) -> &'a serde_yaml::Mapping {
        field(self.template, "Resources").as_mapping().unwrap()
    }

    fn condition(&self, name: &str) -> bool {
        let conditions = field(self.template, "Conditions");
        self.truth(field(conditions, name))
    }

    fn truth(&self, v: &Value) -> bool {
        let Value::Tagged(t) = v else {
            panic!("not a condition: {v:?}")
        };
        let args = || t.value.as_sequence().expect("condition arguments");
        match t.tag.to_string().trim_start_matches('!') {
            "Equals" => {
                let a: Vec<String> = args()
                    .iter()
                    .map(|a| text(&self.resolve(a).expect("a value")))
                    .collect();
                a[0] == a[1]
            }
            "Not" => !self.truth(&args()[0]),
            "And" => args().iter().all(|c| self.truth(c)),
            "Or" => args().iter().any(|c| self.truth(c)),
            "Condition" => self.condition(t.value.as_str().unwrap()),
            other => panic!("the test does not evaluate !{other}"),
        }
    }

    fn reference(&self, name: &str) -> Option<String> {
        Some(match name {
            "AWS::NoValue" => return None,
            "AWS::AccountId" => ACCOUNT.to_owned(),
            "AWS::Region" => REGION.to_owned(),
            "AWS::Partition" => "aws".to_owned(),
            "AWS::StackName" => "cplogs".to_owned(),
            _ if self.params.contains_key(name) => self.params[name].clone(),
            _ => {
                assert!(
                    self.raw_resources().contains_key(name),
                    "!Ref {name}: no such parameter or resource"
                );
                ref_marker(name)
            }
        })
    }

    /// `v` with its intrinsic functions resolved as CloudFormation would; `None` for
    /// `AWS::NoValue`, which removes the property or list item that holds it.
    fn resolve(&self, v: &Value) -> Option<Value> {
        let Value::Tagged(t) = v else {
            return Some(match v {
                Value::Sequence(items) => items.iter().filter_map(|i| self.resolve(i)).collect(),
                Value::Mapping(m) => Value::Mapping(
                    m.iter()
                        .filter_map(|(k, v)| Some((k.clone(), self.resolve(v)?)))
                        .collect(),
                ),
                other => other.clone(),
            });
        };
        let args = || t.value.as_sequence().expect("function arguments");
        Some(match t.tag.to_string().trim_start_matches('!') {
            "Ref" => Value::String(self.reference(t.value.as_str().unwrap())?),
            "GetAtt" => Value::String(getatt_marker(&match &t.value {
                Value::String(s) => s.clone(),
                other => format!("{}.{}", text(&other[0]), text(&other[1])),
            })),
            "Sub" => {
                let mut out = String::new();
                let mut rest = t.value.as_str().expect("!Sub of a string");
                while let Some(i) = rest.find("${") {
                    out.push_str(&rest[..i]);
                    let end = i + rest[i..].find('}').unwrap();
                    let name = &rest[i + 2..end];
                    if let Some(literal) = name.strip_prefix('!') {
                        out.push_str(&format!("${{{literal}}}"));
                    } else if name.contains('.') && !name.starts_with("AWS::") {
                        out.push_str(&getatt_marker(name));
                    } else {
                        out.push_str(&self.reference(name).expect("a value in !Sub"));
                    }
                    rest = &rest[end + 1..];
                }
                out.push_str(rest);
                Value::String(out)
            }
            "If" => {
                let a = args();
                let chosen = if self.condition(a[0].as_str().unwrap()) {
                    &a[1]
                } else {
                    &a[2]
                };
                return self.resolve(chosen);
            }
            "Select" => {
                let a = args();
                let i: usize = text(&a[0]).parse().unwrap();
                return self.resolve(&a[1])?.as_sequence().unwrap().get(i).cloned();
            }
            other => panic!("the test does not resolve !{other}"),
        })
    }

    /// The resources this deployment creates: (logical id, type, resolved properties).
    fn resources(&self) -> Vec<(String, String, Value)> {
        self.raw_resources()
            .iter()
            .filter(|(_, r)| {
                r.get("Condition")
                    .is_none_or(|c| self.condition(c.as_str().unwrap()))
            })
            .map(|(id, r)| {
                let props = r
                    .get("Properties")
                    .and_then(|p| self.resolve(p))
                    .unwrap_or(Value::Null);
                (text(id), text(field(r, "Type")), props)
            })
            .collect()
    }

    fn resource(&self, id: &str) -> Option<(String, Value)> {
        self.resources()
            .into_iter()
            .find(|(i, _, _)| i == id)
            .map(|(_, ty, props)| (ty, props))
    }

    fn of_type(&self, ty: &str) -> Vec<(String, Value)> {
        self.resources()
            .into_iter()
            .filter(|(_, t, _)| t == ty)
            .map(|(id, _, props)| (id, props))
            .collect()
    }
}

/// `Err(message)` unless `cond`.
macro_rules! ensure {
    ($cond:expr, $($msg:tt)+) => {
        if !$cond {
            return Err(format!($($msg)+));
        }
    };
}

/// A string or a list of strings (IAM's Action and Resource), as a list.
fn strings(v: Option<&Value>) -> Vec<String> {
    match v {
        None => vec![],
        Some(Value::Sequence(items)) => items.iter().map(text).collect(),
        Some(other) => vec![text(other)],
    }
}

const PARTITION_FUNCTION: &str = "PartitionFunction";

/// The partition Lambda's failed asynchronous invocations go to an SQS queue that
/// keeps them 14 days, encrypted, and the function's role may send to it. Returns
/// the queue's logical id.
fn check_on_failure_destination(stack: &Stack) -> Result<String, String> {
    let (_, function) = stack
        .resource(PARTITION_FUNCTION)
        .ok_or("no partition function")?;
    let on_failure = function
        .get("EventInvokeConfig")
        .and_then(|c| c.get("DestinationConfig"))
        .and_then(|c| c.get("OnFailure"))
        .ok_or("the partition function has no on-failure destination")?;
    ensure!(
        on_failure.get("Type").map(text).as_deref() == Some("SQS"),
        "the on-failure destination is not of type SQS: {on_failure:?}"
    );
    let destination = on_failure.get("Destination").map(text).unwrap_or_default();
    let queue = destination
        .strip_prefix("{{getatt ")
        .and_then(|d| d.strip_suffix(".Arn}}"))
        .ok_or_else(|| format!("the destination is not a queue's Arn: {destination}"))?
        .to_owned();
    let (ty, props) = stack
        .resource(&queue)
        .ok_or_else(|| format!("the destination {queue} is not deployed"))?;
    ensure!(ty == "AWS::SQS::Queue", "{queue} is a {ty}");
    ensure!(
        props.get("MessageRetentionPeriod").map(text).as_deref() == Some("1209600"),
        "{queue} does not keep messages 14 days"
    );
    ensure!(
        props.get("SqsManagedSseEnabled").and_then(Value::as_bool) == Some(true)
            || props.get("KmsMasterKeyId").is_some(),
        "{queue} is not encrypted"
    );
    let may_send = function
        .get("Policies")
        .and_then(Value::as_sequence)
        .into_iter()
        .flatten()
        .filter_map(|p| p.get("Statement")?.as_sequence())
        .flatten()
        .any(|s| {
            s.get("Effect").map(text).as_deref() == Some("Allow")
                && strings(s.get("Action"))
                    .iter()
                    .any(|a| a == "sqs:SendMessage")
                && strings(s.get("Resource")).contains(&destination)
        });
    ensure!(
        may_send,
        "the partition function's role may not send to {queue}"
    );
    Ok(queue)
}

/// One CloudWatch alarm, resolved.
#[derive(Debug)]
struct Alarm {
    id: String,
    namespace: String,
    metric: String,
    dimensions: Vec<(String, String)>,
    operator: String,
    threshold: String,
    actions: Vec<String>,
    ok_actions: Vec<String>,
}

fn alarms(stack: &Stack) -> Vec<Alarm> {
    stack
        .of_type("AWS::CloudWatch::Alarm")
        .into_iter()
        .map(|(id, p)| Alarm {
            id,
            namespace: p.get("Namespace").map(text).unwrap_or_default(),
            metric: p.get("MetricName").map(text).unwrap_or_default(),
            dimensions: p
                .get("Dimensions")
                .and_then(Value::as_sequence)
                .into_iter()
                .flatten()
                .map(|d| (text(field(d, "Name")), text(field(d, "Value"))))
                .collect(),
            operator: p.get("ComparisonOperator").map(text).unwrap_or_default(),
            threshold: p.get("Threshold").map(text).unwrap_or_default(),
            actions: strings(p.get("AlarmActions")),
            ok_actions: strings(p.get("OKActions")),
        })
        .collect()
}

/// An alarm on the on-failure queue's depth, on each function's Errors and
/// Throttles, and on each Firehose stream's delivery freshness and processing.
fn check_alarms(stack: &Stack) -> Result<(), String> {
    let alarms = alarms(stack);
    let has = |namespace: &str, metric: &str, dim: (&str, &str), op: &str, threshold: &str| {
        let found = alarms.iter().any(|a| {
            a.namespace == namespace
                && a.metric == metric
                && a.dimensions == [(dim.0.to_owned(), dim.1.to_owned())]
                && a.operator == op
                && a.threshold == threshold
        });
        if found {
            Ok(())
        } else {
            Err(format!(
                "no alarm {namespace} {metric} {dim:?} {op} {threshold}"
            ))
        }
    };
    if stack.resource(PARTITION_FUNCTION).is_some() {
        let queue = check_on_failure_destination(stack)?;
        has(
            "AWS/SQS",
            "ApproximateNumberOfMessagesVisible",
            ("QueueName", &getatt_marker(&format!("{queue}.QueueName"))),
            "GreaterThanThreshold",
            "0",
        )?;
    }
    for (function, _) in stack.of_type("AWS::Serverless::Function") {
        for metric in ["Errors", "Throttles"] {
            has(
                "AWS/Lambda",
                metric,
                ("FunctionName", &ref_marker(&function)),
                "GreaterThanThreshold",
                "0",
            )?;
        }
    }
    for (stream, _) in stack.of_type("AWS::KinesisFirehose::DeliveryStream") {
        let name = ("DeliveryStreamName", ref_marker(&stream));
        let name = (name.0, name.1.as_str());
        has(
            "AWS/Firehose",
            "DeliveryToS3.DataFreshness",
            name,
            "GreaterThanThreshold",
            stack.param("DeliveryFreshnessAlarmSeconds"),
        )?;
        has(
            "AWS/Firehose",
            "ExecuteProcessing.Success",
            name,
            "LessThanThreshold",
            "1",
        )?;
    }
    Ok(())
}

const TOPIC: &str = "arn:aws:sns:eu-west-1:123456789012:cplogs-alarms";

/// Without AlarmTopicArn the alarms notify no one; with it, every alarm notifies it
/// on ALARM and on OK.
fn check_alarm_actions(template: &Value) -> Result<(), String> {
    let silent = alarms(&Stack::deploy(template, &[]));
    ensure!(!silent.is_empty(), "no alarms");
    for a in &silent {
        ensure!(
            a.actions.is_empty() && a.ok_actions.is_empty(),
            "{} notifies without a topic: {:?} {:?}",
            a.id,
            a.actions,
            a.ok_actions
        );
    }
    for a in alarms(&Stack::deploy(template, &[("AlarmTopicArn", TOPIC)])) {
        ensure!(
            a.actions == [TOPIC] && a.ok_actions == [TOPIC],
            "{} does not notify the topic: {:?} {:?}",
            a.id,
            a.actions,
            a.ok_actions
        );
    }
    Ok(())
}

/// The workgroup's result prefix expires after AthenaResultsExpirationDays (default
/// 30), and, the bucket being versioned, so do noncurrent versions under it.
fn check_results_expiry(template: &Value) -> Result<(), String> {
    for (overrides, days) in [
        (&[][..], "30"),
        (&[("AthenaResultsExpirationDays", "7")][..], "7"),
    ] {
        let stack = Stack::deploy(template, overrides);
        let (_, workgroup) = stack.resource("AthenaWorkGroup").ok_or("no workgroup")?;
        let location =
            text(&workgroup["WorkGroupConfiguration"]["ResultConfiguration"]["OutputLocation"]);
        let bucket = format!("s3://{}/", ref_marker("LogBucket"));
        let prefix = location
            .strip_prefix(&bucket)
            .ok_or_else(|| format!("results are not in the log bucket: {location}"))?;
        ensure!(
            !prefix.is_empty(),
            "results are not under a prefix of their own"
        );
        let (_, log_bucket) = stack.resource("LogBucket").ok_or("no log bucket")?;
        ensure!(
            log_bucket["VersioningConfiguration"]["Status"].as_str() == Some("Enabled"),
            "the log bucket is not versioned (then drop this check's noncurrent part)"
        );
        let rules = log_bucket["LifecycleConfiguration"]["Rules"]
            .as_sequence()
            .ok_or("no lifecycle rules")?;
        let rule = rules
            .iter()
            .find(|r| r.get("Prefix").map(text).as_deref() == Some(prefix))
            .ok_or_else(|| format!("no lifecycle rule on {prefix}"))?;
        ensure!(
            rule.get("Status").map(text).as_deref() == Some("Enabled"),
            "the rule on {prefix} is not enabled"
        );
        ensure!(
            rule.get("ExpirationInDays").map(text).as_deref() == Some(days),
            "results expire after {:?} days, not {days}",
            rule.get("ExpirationInDays")
        );
        let noncurrent = rule
            .get("NoncurrentVersionExpiration")
            .and_then(|n| n.get("NoncurrentDays"))
            .map(text)
            .and_then(|d| d.parse::<u32>().ok());
        ensure!(
            noncurrent.is_some_and(|d| d > 0),
            "noncurrent versions of results do not expire"
        );
    }
    Ok(())
}

/// Every `!Ref` and `!GetAtt` of a deployed resource names a deployed resource (a
/// conditional resource's alarms must carry its condition).
fn check_references(stack: &Stack) -> Result<(), String> {
    let deployed: Vec<String> = stack.resources().into_iter().map(|(id, _, _)| id).collect();
    for (id, _, props) in stack.resources() {
        let text = serde_yaml::to_string(&props).unwrap();
        for marker in ["{{ref ", "{{getatt "] {
            for (i, _) in text.match_indices(marker) {
                let target: String = text[i + marker.len()..]
                    .chars()
                    .take_while(char::is_ascii_alphanumeric)
                    .collect();
                ensure!(
                    deployed.contains(&target),
                    "{id} refers to {target}, which this deployment does not create"
                );
            }
        }
    }
    Ok(())
}

fn projection(on: bool) -> [(&'static str, &'static str); 1] {
    [("UsePartitionProjection", if on { "true" } else { "false" })]
}

#[test]
fn partition_failures_go_to_an_encrypted_queue_kept_14_days() {
    let template = parsed_template();
    let stack = Stack::deploy(&template, &projection(false));
    let queue = check_on_failure_destination(&stack).unwrap();
    assert_eq!(queue, "PartitionFailureQueue");
    // With partition projection there is no partition Lambda, and no queue for it.
    let projected = Stack::deploy(&template, &projection(true));
    assert!(projected.resource(PARTITION_FUNCTION).is_none());
    assert!(projected.resource(&queue).is_none());
}

#[test]
fn every_failure_has_an_alarm() {
    let template = parsed_template();
    for (on, functions) in [(false, 4), (true, 3)] {
        let stack = Stack::deploy(&template, &projection(on));
        // The loops of check_alarms cover every function and stream.
        assert_eq!(stack.of_type("AWS::Serverless::Function").len(), functions);
        assert_eq!(
            stack.of_type("AWS::KinesisFirehose::DeliveryStream").len(),
            Table::ALL.len()
        );
        check_alarms(&stack).unwrap();
        check_references(&stack).unwrap();
    }
    let stack = Stack::deploy(&template, &[("DeliveryFreshnessAlarmSeconds", "900")]);
    check_alarms(&stack).unwrap();
}

#[test]
fn alarms_notify_the_topic_only_when_one_is_given() {
    check_alarm_actions(&parsed_template()).unwrap();
}

#[test]
fn athena_results_expire_with_their_noncurrent_versions() {
    let template = parsed_template();
    assert_eq!(
        Stack::deploy(&template, &[]).param("AthenaResultsExpirationDays"),
        "30"
    );
    check_results_expiry(&template).unwrap();
}

fn resource_mut<'v>(template: &'v mut Value, id: &str) -> &'v mut Value {
    template
        .get_mut("Resources")
        .and_then(|r| r.get_mut(id))
        .unwrap_or_else(|| panic!("no resource {id}"))
}

fn props_mut<'v>(template: &'v mut Value, id: &str) -> &'v mut serde_yaml::Mapping {
    resource_mut(template, id)
        .get_mut("Properties")
        .and_then(Value::as_mapping_mut)
        .unwrap()
}

#[test]
fn each_check_notices_a_broken_template() {
    let good = parsed_template();
    type Break = fn(&mut Value);
    let on_failure = |t: &Value| check_on_failure_destination(&Stack::deploy(t, &[])).map(drop);
    let alarm_check = |t: &Value| check_alarms(&Stack::deploy(t, &[]));
    let references = |t: &Value| check_references(&Stack::deploy(t, &projection(true)));
    type Check<'c> = &'c dyn Fn(&Value) -> Result<(), String>;
    let cases: Vec<(&str, Break, Check)> = vec![
        (
            "no on-failure destination",
            |t| {
                props_mut(t, "PartitionFunction").remove("EventInvokeConfig");
            },
            &on_failure,
        ),
        (
            "4-day retention",
            |t| {
                props_mut(t, "PartitionFailureQueue")
                    .insert("MessageRetentionPeriod".into(), 345600.into());
            },
            &on_failure,
        ),
        (
            "unencrypted queue",
            |t| {
                props_mut(t, "PartitionFailureQueue").remove("SqsManagedSseEnabled");
            },
            &on_failure,
        ),
        (
            "role may not send",
            |t| {
                let policies = props_mut(t, "PartitionFunction")
                    .get_mut("Policies")
                    .and_then(Value::as_sequence_mut)
                    .unwrap();
                for p in policies {
                    let statements = p.get_mut("Statement").and_then(Value::as_sequence_mut);
                    statements.unwrap().retain(|s| {
                        !strings(s.get("Action")).contains(&"sqs:SendMessage".to_owned())
                    });
                }
            },
            &on_failure,
        ),
        (
            "no queue depth alarm",
            |t| {
                t["Resources"]
                    .as_mapping_mut()
                    .unwrap()
                    .remove("PartitionFailureQueueAlarm");
            },
            &alarm_check,
        ),
        (
            "no throttles alarm for one transform",
            |t| {
                t["Resources"]
                    .as_mapping_mut()
                    .unwrap()
                    .remove("StageTransformThrottlesAlarm");
            },
            &alarm_check,
        ),
        (
            "a fixed freshness threshold",
            |t| {
                props_mut(t, "ActionDeliveryFreshnessAlarm").insert("Threshold".into(), 60.into());
            },
            &alarm_check,
        ),
        (
            "no processing alarm",
            |t| {
                props_mut(t, "PipelineProcessingFailureAlarm")
                    .insert("MetricName".into(), "DeliveryToS3.Success".into());
            },
            &alarm_check,
        ),
        (
            "an alarm of the partition function deployed without it",
            |t| {
                resource_mut(t, "PartitionErrorsAlarm")
                    .as_mapping_mut()
                    .unwrap()
                    .remove("Condition");
            },
            &references,
        ),
        (
            "an alarm that always notifies",
            |t| {
                props_mut(t, "StageDeliveryFreshnessAlarm")
                    .insert("AlarmActions".into(), vec![TOPIC].into());
            },
            &check_alarm_actions,
        ),
        (
            "an alarm that never notifies",
            |t| {
                props_mut(t, "ActionTransformErrorsAlarm").remove("OKActions");
            },
            &check_alarm_actions,
        ),
        (
            "a fixed expiry",
            |t| {
                let rules = props_mut(t, "LogBucket")
                    .get_mut("LifecycleConfiguration")
                    .and_then(|l| l.get_mut("Rules"))
                    .and_then(Value::as_sequence_mut)
                    .unwrap();
                for r in rules.iter_mut().filter(|r| r.get("Prefix").is_some()) {
                    r["ExpirationInDays"] = 30.into();
                }
            },
            &check_results_expiry,
        ),
        (
            "noncurrent results kept",
            |t| {
                let rules = props_mut(t, "LogBucket")
                    .get_mut("LifecycleConfiguration")
                    .and_then(|l| l.get_mut("Rules"))
                    .and_then(Value::as_sequence_mut)
                    .unwrap();
                for r in rules.iter_mut().filter(|r| r.get("Prefix").is_some()) {
                    r.as_mapping_mut()
                        .unwrap()
                        .remove("NoncurrentVersionExpiration");
                }
            },
            &check_results_expiry,
        ),
    ];
    for (what, break_it, check) in cases {
        check(&good).unwrap_or_else(|e| panic!("{what}: the template itself fails: {e}"));
        let mut broken = good.clone();
        break_it(&mut broken);
        assert!(check(&broken).is_err(), "{what}: not noticed");
    }
}
