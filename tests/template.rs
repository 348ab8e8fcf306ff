//! `infra/template.yaml` against the code: its Glue tables are exactly the schema's
//! rendering, and each table's rule, stream and transform point at that table.
//! `CPLOGS_UPDATE_TEMPLATE=1 cargo test --test template` rewrites the generated block.

use std::path::PathBuf;

use cplogs::Table;
use cplogs::template::{BEGIN_MARKER, END_MARKER, glue_tables_yaml};

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
         run `CPLOGS_UPDATE_TEMPLATE=1 cargo test --test template` and review the diff"
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
