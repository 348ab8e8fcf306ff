-- pipeline_execution_state_change: Athena DDL rendered from src/core/schema.rs (CPLOGS_UPDATE_SQL=1 cargo test --test engine sql).
-- Replace BUCKET with the log bucket. `cplogs tables create` makes the same table through
-- the Glue API; `--projection` adds date partition projection on dt.
CREATE EXTERNAL TABLE IF NOT EXISTS `codepipeline_event_logs`.`pipeline_execution_state_change` (
  `timestamp` string,
  `eventversion` string,
  `pipelinearn` string,
  `pipeline` string,
  `version` string,
  `state` string,
  `executionid` string,
  `eventid` string,
  `account` string,
  `eventregion` string,
  `starttime` string,
  `executionattempt` int,
  `executiontrigger` struct<triggertype:string,triggerdetail:string,providertype:string,fullrepositoryname:string,branchname:string,tagname:string,commitid:string,commitmessage:string>,
  `stopexecutioncomments` string
)
PARTITIONED BY (`dt` string)
ROW FORMAT SERDE 'org.openx.data.jsonserde.JsonSerDe'
WITH SERDEPROPERTIES (
  'case.insensitive' = 'TRUE',
  'ignore.malformed.json' = 'TRUE'
)
STORED AS INPUTFORMAT 'org.apache.hadoop.mapred.TextInputFormat'
OUTPUTFORMAT 'org.apache.hadoop.hive.ql.io.HiveIgnoreKeyTextOutputFormat'
LOCATION 's3://BUCKET/pipeline_execution_state_change/'
TBLPROPERTIES (
  'classification' = 'json',
  'compressionType' = 'gzip',
  'typeOfData' = 'file'
);
