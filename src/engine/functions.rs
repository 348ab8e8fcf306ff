//! Trino functions the bundled SQL uses that DataFusion lacks, registered with Trino's
//! semantics so the local engine runs the reports' SQL text unchanged.
//!
//! Timestamps are `timestamp(3) with time zone` in Trino; here they are Arrow
//! `Timestamp(Millisecond, "UTC")`, which is what [`from_iso8601_timestamp`] returns.
//!
//! One cohesive thing (over 400 lines): the Trino functions, each small, in one registry.

use std::sync::Arc;

use chrono::{DateTime, Datelike, Months, NaiveDate, NaiveDateTime, TimeZone, Utc};
use datafusion::arrow::array::{
    Array, ArrayRef, AsArray, Float64Array, Int64Array, StringBuilder, TimestampMillisecondArray,
    make_comparator,
};
use datafusion::arrow::compute::SortOptions;
use datafusion::arrow::datatypes::{
    DataType, Field, FieldRef, Float64Type, Int64Type, TimeUnit, TimestampMillisecondType,
};
use datafusion::common::{Result, ScalarValue, exec_err, plan_err};
use datafusion::logical_expr::function::{AccumulatorArgs, StateFieldsArgs};
use datafusion::logical_expr::{
    Accumulator, AggregateUDF, AggregateUDFImpl, ColumnarValue, GroupsAccumulator, ScalarUDF,
    Signature, Volatility, create_udf,
};

use super::groups;
use datafusion::prelude::SessionContext;

/// The timestamp type of the registered functions.
pub fn timestamp_type() -> DataType {
    DataType::Timestamp(TimeUnit::Millisecond, Some("UTC".into()))
}

/// Registers every function in `ctx`.
pub fn register(ctx: &SessionContext) {
    for udf in [
        from_iso8601_timestamp(),
        try_from_iso8601_timestamp(),
        to_iso8601(),
        date_diff(),
        date_add(),
    ] {
        ctx.register_udf(udf);
    }
    for udaf in [
        AggregateUDF::from(ApproxPercentile::new()),
        AggregateUDF::from(ByExtreme::new(Extreme::Max)),
        AggregateUDF::from(ByExtreme::new(Extreme::Min)),
        AggregateUDF::from(CountIf::new()),
    ] {
        ctx.register_udaf(udaf);
    }
}

/// Parses an ISO 8601 time as Trino's `from_iso8601_timestamp` does: a date, a date and
/// time with an offset or `Z`, or without one (then UTC, the session zone).
pub fn parse_iso8601(s: &str) -> Option<DateTime<Utc>> {
    if let Ok(t) = DateTime::parse_from_rfc3339(s) {
        return Some(t.with_timezone(&Utc));
    }
    if let Ok(d) = NaiveDate::parse_from_str(s, "%Y-%m-%d") {
        return Some(d.and_time(chrono::NaiveTime::MIN).and_utc());
    }
    for f in ["%Y-%m-%dT%H:%M:%S%.f", "%Y-%m-%dT%H:%M"] {
        if let Ok(t) = NaiveDateTime::parse_from_str(s, f) {
            return Some(t.and_utc());
        }
    }
    None
}

/// [`parse_iso8601`] as milliseconds since the epoch. The form every record carries
/// (`2026-11-01T10:00:00Z`, `2026-11-01T10:00:00.123Z`) is read without chrono's
/// general parser: reports parse a timestamp per row, up to millions per query.
pub fn parse_iso8601_millis(s: &str) -> Option<i64> {
    parse_utc_fast(s.as_bytes()).or_else(|| parse_iso8601(s).map(|t| t.timestamp_millis()))
}

/// `YYYY-MM-DDTHH:MM:SS[.f…]Z` with every field in range, else `None` (the caller
/// then asks chrono, which also knows offsets, leap seconds and the other forms).
fn parse_utc_fast(s: &[u8]) -> Option<i64> {
    fn num(s: &[u8]) -> Option<i64> {
        s.iter().try_fold(0i64, |n, &b| {
            b.is_ascii_digit().then(|| n * 10 + i64::from(b - b'0'))
        })
    }
    if s.len() < 20
        || s[4] != b'-'
        || s[7] != b'-'
        || s[10] != b'T'
        || s[13] != b':'
        || s[16] != b':'
        || s[s.len() - 1] != b'Z'
    {
        return None;
    }
    let (y, m, d) = (num(&s[0..4])?, num(&s[5..7])?, num(&s[8..10])?);
    let (h, min, sec) = (num(&s[11..13])?, num(&s[14..16])?, num(&s[17..19])?);
    // chrono's calendar (cheap); its general parser is what costs.
    let date = NaiveDate::from_ymd_opt(
        i32::try_from(y).ok()?,
        u32::try_from(m).ok()?,
        u32::try_from(d).ok()?,
    )?;
    if h > 23 || min > 59 || sec > 59 {
        return None;
    }
    let ms = match &s[19..s.len() - 1] {
        [] => 0,
        [b'.', digits @ ..] if !digits.is_empty() && digits.len() <= 9 => {
            // Milliseconds: the first three digits; further ones are cut, as chrono does.
            let mut ms = num(digits)?;
            for _ in digits.len()..3 {
                ms *= 10;
            }
            for _ in 3..digits.len() {
                ms /= 10;
            }
            ms
        }
        _ => return None,
    };
    let days = i64::from(date.num_days_from_ce()) - DAYS_TO_1970;
    Some(((days * 24 + h) * 60 + min) * 60_000 + sec * 1000 + ms)
}

/// Formats a millisecond timestamp as Trino's `to_iso8601` does for UTC values.
pub fn format_iso8601(ms: i64) -> Option<String> {
    let mut out = [0u8; 24];
    match format_utc_fast(ms, &mut out) {
        // Only ASCII digits and separators are written.
        Some(text) => Some(String::from_utf8_lossy(text).into_owned()),
        None => Utc
            .timestamp_millis_opt(ms)
            .single()
            .map(|t| t.format("%Y-%m-%dT%H:%M:%S%.3fZ").to_string()),
    }
}

/// Days from 0001-01-01 (chrono's day 1) to 1970-01-01.
const DAYS_TO_1970: i64 = 719_163;

/// `YYYY-MM-DDTHH:MM:SS.mmmZ` written into `out` for years 0 to 9999, without
/// chrono's format machinery (reports format a time per row); `None` outside them.
fn format_utc_fast(ms: i64, out: &mut [u8; 24]) -> Option<&[u8]> {
    let t = DateTime::from_timestamp_millis(ms)?;
    let (y, rest) = (t.year(), ms.rem_euclid(86_400_000));
    if !(0..=9999).contains(&y) {
        return None;
    }
    let fields = [
        (i64::from(y), 4, b'-'),
        (i64::from(t.month()), 2, b'-'),
        (i64::from(t.day()), 2, b'T'),
        (rest / 3_600_000, 2, b':'),
        (rest / 60_000 % 60, 2, b':'),
        (rest / 1000 % 60, 2, b'.'),
        (rest % 1000, 3, b'Z'),
    ];
    let mut at = 0;
    for (value, width, sep) in fields {
        let mut v = value;
        for i in (0..width).rev() {
            out[at + i] = b'0' + (v % 10) as u8;
            v /= 10;
        }
        out[at + width] = sep;
        at += width + 1;
    }
    Some(&out[..at])
}

fn arrays(args: &[ColumnarValue]) -> Result<Vec<ArrayRef>> {
    ColumnarValue::values_to_arrays(args)
}

/// The name under which `try(from_iso8601_timestamp(x))` runs: Trino's `try` turns
/// the error of an unparseable time into NULL, and the local engine rewrites that
/// call to this function, which does the same (see `local::rewrite_try`).
pub const TRY_FROM_ISO8601_TIMESTAMP: &str = "try_from_iso8601_timestamp";

fn from_iso8601_timestamp() -> ScalarUDF {
    iso8601_parser("from_iso8601_timestamp", true)
}

fn try_from_iso8601_timestamp() -> ScalarUDF {
    iso8601_parser(TRY_FROM_ISO8601_TIMESTAMP, false)
}

/// `from_iso8601_timestamp`: text that is not an ISO 8601 time is an error, as in
/// Trino (`strict`), or NULL.
fn iso8601_parser(name: &str, strict: bool) -> ScalarUDF {
    create_udf(
        name,
        vec![DataType::Utf8],
        timestamp_type(),
        Volatility::Immutable,
        Arc::new(move |args: &[ColumnarValue]| {
            let a = arrays(args)?;
            let text = a[0].as_string::<i32>();
            let mut out = Vec::with_capacity(text.len());
            for s in text.iter() {
                out.push(match s.map(|s| (s, parse_iso8601_millis(s))) {
                    None => None,
                    Some((_, Some(t))) => Some(t),
                    Some((_, None)) if !strict => None,
                    Some((s, None)) => {
                        return exec_err!("from_iso8601_timestamp: {s:?} is not an ISO 8601 time");
                    }
                });
            }
            let array = TimestampMillisecondArray::from(out).with_timezone("UTC");
            Ok(ColumnarValue::Array(Arc::new(array)))
        }),
    )
}

fn to_iso8601() -> ScalarUDF {
    create_udf(
        "to_iso8601",
        vec![timestamp_type()],
        DataType::Utf8,
        Volatility::Immutable,
        Arc::new(|args: &[ColumnarValue]| {
            let a = arrays(args)?;
            let ts = a[0].as_primitive::<TimestampMillisecondType>();
            let mut out = StringBuilder::with_capacity(ts.len(), ts.len() * 24);
            let mut buf = [0u8; 24];
            for v in ts.iter() {
                match v.map(|ms| (ms, format_utc_fast(ms, &mut buf))) {
                    None => out.append_null(),
                    // Only ASCII is written.
                    Some((_, Some(text))) => {
                        out.append_value(std::str::from_utf8(text).unwrap_or(""))
                    }
                    Some((ms, None)) => out.append_option(format_iso8601(ms)),
                }
            }
            Ok(ColumnarValue::Array(Arc::new(out.finish())))
        }),
    )
}

/// A `date_diff` / `date_add` unit.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Unit {
    Fixed(i64),
    Months(u32),
}

fn unit(name: &str) -> Result<Unit> {
    Ok(match name.to_ascii_lowercase().as_str() {
        "millisecond" => Unit::Fixed(1),
        "second" => Unit::Fixed(1_000),
        "minute" => Unit::Fixed(60_000),
        "hour" => Unit::Fixed(3_600_000),
        "day" => Unit::Fixed(86_400_000),
        "week" => Unit::Fixed(7 * 86_400_000),
        "month" => Unit::Months(1),
        "quarter" => Unit::Months(3),
        "year" => Unit::Months(12),
        other => return exec_err!("{other:?} is not a valid unit"),
    })
}

/// Whole calendar months from `a` to `b`, truncated toward zero.
fn months_between(a: DateTime<Utc>, b: DateTime<Utc>) -> i64 {
    let (lo, hi, sign) = if a <= b { (a, b, 1) } else { (b, a, -1) };
    let mut m =
        i64::from(hi.year() - lo.year()) * 12 + i64::from(hi.month0()) - i64::from(lo.month0());
    let shifted = u32::try_from(m)
        .ok()
        .and_then(|m| lo.checked_add_months(Months::new(m)));
    if shifted.is_none_or(|s| s > hi) {
        m -= 1;
    }
    sign * m
}

fn date_diff() -> ScalarUDF {
    create_udf(
        "date_diff",
        vec![DataType::Utf8, timestamp_type(), timestamp_type()],
        DataType::Int64,
        Volatility::Immutable,
        Arc::new(|args: &[ColumnarValue]| {
            let a = arrays(args)?;
            let units = a[0].as_string::<i32>();
            let from = a[1].as_primitive::<TimestampMillisecondType>();
            let to = a[2].as_primitive::<TimestampMillisecondType>();
            let mut out = Vec::with_capacity(from.len());
            for i in 0..from.len() {
                if units.is_null(i) || from.is_null(i) || to.is_null(i) {
                    out.push(None);
                    continue;
                }
                let (x, y) = (from.value(i), to.value(i));
                out.push(Some(match unit(units.value(i))? {
                    // Integer division truncates toward zero, as Trino's does.
                    Unit::Fixed(ms) => (y - x) / ms,
                    Unit::Months(n) => {
                        let (Some(x), Some(y)) = (
                            Utc.timestamp_millis_opt(x).single(),
                            Utc.timestamp_millis_opt(y).single(),
                        ) else {
                            return exec_err!("date_diff: timestamp out of range");
                        };
                        months_between(x, y) / i64::from(n)
                    }
                }));
            }
            Ok(ColumnarValue::Array(Arc::new(Int64Array::from(out))))
        }),
    )
}

fn date_add() -> ScalarUDF {
    create_udf(
        "date_add",
        vec![DataType::Utf8, DataType::Int64, timestamp_type()],
        timestamp_type(),
        Volatility::Immutable,
        Arc::new(|args: &[ColumnarValue]| {
            let a = arrays(args)?;
            let units = a[0].as_string::<i32>();
            let n = a[1].as_primitive::<Int64Type>();
            let ts = a[2].as_primitive::<TimestampMillisecondType>();
            let mut out = Vec::with_capacity(ts.len());
            for i in 0..ts.len() {
                if units.is_null(i) || n.is_null(i) || ts.is_null(i) {
                    out.push(None);
                    continue;
                }
                let (k, t) = (n.value(i), ts.value(i));
                let added = match unit(units.value(i))? {
                    Unit::Fixed(ms) => k.checked_mul(ms).and_then(|d| t.checked_add(d)),
                    Unit::Months(m) => Utc.timestamp_millis_opt(t).single().and_then(|t| {
                        let months = k.checked_mul(i64::from(m))?;
                        let abs = Months::new(u32::try_from(months.unsigned_abs()).ok()?);
                        let moved = if months >= 0 {
                            t.checked_add_months(abs)
                        } else {
                            t.checked_sub_months(abs)
                        };
                        moved.map(|t| t.timestamp_millis())
                    }),
                };
                match added {
                    Some(v) => out.push(Some(v)),
                    None => return exec_err!("date_add: result out of range"),
                }
            }
            let array = TimestampMillisecondArray::from(out).with_timezone("UTC");
            Ok(ColumnarValue::Array(Arc::new(array)))
        }),
    )
}

/// `approx_percentile(x, p)`: Trino estimates it; here it is exact (nearest rank: the
/// smallest value with at least `p` of the values at or below it), which is within any
/// approximation's bounds and makes results reproducible. Integers in, bigint out.
#[derive(Debug, PartialEq, Eq, Hash)]
struct ApproxPercentile {
    signature: Signature,
}

impl ApproxPercentile {
    fn new() -> Self {
        ApproxPercentile {
            signature: Signature::user_defined(Volatility::Immutable),
        }
    }
}

fn numeric_kind(t: &DataType) -> Result<DataType> {
    if t.is_integer() || t.is_null() {
        Ok(DataType::Int64)
    } else if t.is_numeric() {
        Ok(DataType::Float64)
    } else {
        plan_err!("approx_percentile needs a number, not {t}")
    }
}

impl AggregateUDFImpl for ApproxPercentile {
    fn name(&self) -> &str {
        "approx_percentile"
    }
    fn signature(&self) -> &Signature {
        &self.signature
    }
    fn coerce_types(&self, arg_types: &[DataType]) -> Result<Vec<DataType>> {
        match arg_types {
            [x, p] if p.is_numeric() || p.is_null() => {
                Ok(vec![numeric_kind(x)?, DataType::Float64])
            }
            _ => plan_err!("approx_percentile takes (value, percentage)"),
        }
    }
    fn return_type(&self, arg_types: &[DataType]) -> Result<DataType> {
        numeric_kind(&arg_types[0])
    }
    fn state_fields(&self, args: StateFieldsArgs) -> Result<Vec<FieldRef>> {
        let item = Field::new_list_field(DataType::Float64, true);
        Ok(vec![
            Arc::new(Field::new(
                format!("{}_values", args.name),
                DataType::List(Arc::new(item)),
                true,
            )),
            Arc::new(Field::new(
                format!("{}_p", args.name),
                DataType::Float64,
                true,
            )),
        ])
    }
    fn accumulator(&self, acc_args: AccumulatorArgs) -> Result<Box<dyn Accumulator>> {
        Ok(Box::new(PercentileAccumulator {
            values: Vec::new(),
            p: None,
            integer: acc_args.return_type() == &DataType::Int64,
        }))
    }
}

/// The 1-based nearest rank `ceil(p * n)`, at least 1, with `p` read as the decimal
/// it was written as: in binary floating point 0.07 × 100 is 7.000000000000001, whose
/// ceiling would pick the 8th value instead of the 7th.
fn nearest_rank(p: f64, n: usize) -> usize {
    // The shortest decimal that reads back as `p` ("0.07"), as an exact fraction.
    let text = format!("{p}");
    let (int, frac) = text.split_once('.').unwrap_or((&text, ""));
    let exact = (frac.len() <= 18)
        .then(|| {
            let den = 10u128.pow(frac.len() as u32);
            let num = format!("{int}{frac}").parse::<u128>().ok()?;
            let scaled = num.checked_mul(n as u128)?;
            usize::try_from(scaled.div_ceil(den)).ok()
        })
        .flatten();
    exact
        .unwrap_or_else(|| (p * n as f64).ceil() as usize)
        .clamp(1, n.max(1))
}

#[derive(Debug)]
struct PercentileAccumulator {
    values: Vec<f64>,
    p: Option<f64>,
    integer: bool,
}

impl PercentileAccumulator {
    fn set_p(&mut self, p: &Float64Array) -> Result<()> {
        if let Some(v) = p.iter().flatten().next() {
            if !(0.0..=1.0).contains(&v) {
                return exec_err!("approx_percentile: percentage must be between 0 and 1, not {v}");
            }
            self.p = Some(v);
        }
        Ok(())
    }
}

impl Accumulator for PercentileAccumulator {
    fn update_batch(&mut self, values: &[ArrayRef]) -> Result<()> {
        self.set_p(values[1].as_primitive::<Float64Type>())?;
        if self.integer {
            let x = values[0].as_primitive::<Int64Type>();
            // f64 holds every duration in seconds or milliseconds exactly.
            self.values.extend(x.iter().flatten().map(|v| v as f64));
        } else {
            let x = values[0].as_primitive::<Float64Type>();
            self.values.extend(x.iter().flatten());
        }
        Ok(())
    }

    fn evaluate(&mut self) -> Result<ScalarValue> {
        let value = match self.p {
            Some(p) if !self.values.is_empty() => {
                self.values.sort_by(f64::total_cmp);
                let n = self.values.len();
                let rank = nearest_rank(p, n);
                Some(self.values[rank - 1])
            }
            _ => None,
        };
        Ok(if self.integer {
            ScalarValue::Int64(value.map(|v| v as i64))
        } else {
            ScalarValue::Float64(value)
        })
    }

    fn size(&self) -> usize {
        size_of_val(self) + self.values.capacity() * size_of::<f64>()
    }

    fn state(&mut self) -> Result<Vec<ScalarValue>> {
        let list = ScalarValue::new_list_nullable(
            &self
                .values
                .iter()
                .map(|v| ScalarValue::Float64(Some(*v)))
                .collect::<Vec<_>>(),
            &DataType::Float64,
        );
        Ok(vec![ScalarValue::List(list), ScalarValue::Float64(self.p)])
    }

    fn merge_batch(&mut self, states: &[ArrayRef]) -> Result<()> {
        let lists = states[0].as_list::<i32>();
        for list in lists.iter().flatten() {
            self.values
                .extend(list.as_primitive::<Float64Type>().iter().flatten());
        }
        if self.p.is_none() {
            self.set_p(states[1].as_primitive::<Float64Type>())?;
        }
        Ok(())
    }
}

/// Which end `max_by` / `min_by` keep.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
enum Extreme {
    Max,
    Min,
}

/// `max_by(x, y)` / `min_by(x, y)`: the `x` of the row with the largest (smallest)
/// `y`; rows whose `y` is null are ignored, as in Trino.
#[derive(Debug, PartialEq, Eq, Hash)]
struct ByExtreme {
    extreme: Extreme,
    signature: Signature,
}

impl ByExtreme {
    fn new(extreme: Extreme) -> Self {
        ByExtreme {
            extreme,
            signature: Signature::any(2, Volatility::Immutable),
        }
    }
}

impl AggregateUDFImpl for ByExtreme {
    fn name(&self) -> &str {
        match self.extreme {
            Extreme::Max => "max_by",
            Extreme::Min => "min_by",
        }
    }
    fn signature(&self) -> &Signature {
        &self.signature
    }
    fn return_type(&self, arg_types: &[DataType]) -> Result<DataType> {
        Ok(arg_types[0].clone())
    }
    fn state_fields(&self, args: StateFieldsArgs) -> Result<Vec<FieldRef>> {
        Ok(vec![
            Arc::new(Field::new(
                format!("{}_value", args.name),
                args.input_fields[0].data_type().clone(),
                true,
            )),
            Arc::new(Field::new(
                format!("{}_key", args.name),
                args.input_fields[1].data_type().clone(),
                true,
            )),
        ])
    }
    fn groups_accumulator_supported(&self, args: AccumulatorArgs) -> bool {
        groups::is_integer_key(args.expr_fields[1].data_type())
    }
    fn create_groups_accumulator(
        &self,
        args: AccumulatorArgs,
    ) -> Result<Box<dyn GroupsAccumulator>> {
        Ok(Box::new(groups::ByExtremeGroups::new(
            self.extreme == Extreme::Max,
            args.return_type(),
            args.expr_fields[1].data_type(),
        )))
    }
    fn accumulator(&self, acc_args: AccumulatorArgs) -> Result<Box<dyn Accumulator>> {
        let value_type = acc_args.return_type().clone();
        let key_type = acc_args.expr_fields[1].data_type().clone();
        Ok(Box::new(ByExtremeAccumulator {
            extreme: self.extreme,
            value: ScalarValue::try_from(&value_type)?,
            key: ScalarValue::try_from(&key_type)?,
        }))
    }
}

#[derive(Debug)]
struct ByExtremeAccumulator {
    extreme: Extreme,
    value: ScalarValue,
    key: ScalarValue,
}

impl ByExtremeAccumulator {
    fn better(&self, key: &ScalarValue) -> bool {
        if key.is_null() {
            return false;
        }
        if self.key.is_null() {
            return true;
        }
        match self.extreme {
            Extreme::Max => key > &self.key,
            Extreme::Min => key < &self.key,
        }
    }

    fn absorb(&mut self, values: &ArrayRef, keys: &ArrayRef) -> Result<()> {
        // Compare rows within the batch with Arrow's comparator and convert only the
        // winning row to scalars.
        let compare = make_comparator(keys.as_ref(), keys.as_ref(), SortOptions::default())?;
        let mut best: Option<usize> = None;
        for i in (0..keys.len()).filter(|&i| keys.is_valid(i)) {
            let wins = best.is_none_or(|b| match self.extreme {
                Extreme::Max => compare(i, b).is_gt(),
                Extreme::Min => compare(i, b).is_lt(),
            });
            if wins {
                best = Some(i);
            }
        }
        let Some(best) = best else {
            return Ok(());
        };
        let best_key = ScalarValue::try_from_array(keys, best)?;
        if self.better(&best_key) {
            self.value = ScalarValue::try_from_array(values, best)?;
            self.key = best_key;
        }
        Ok(())
    }
}

impl Accumulator for ByExtremeAccumulator {
    fn update_batch(&mut self, values: &[ArrayRef]) -> Result<()> {
        self.absorb(&values[0], &values[1])
    }
    fn evaluate(&mut self) -> Result<ScalarValue> {
        Ok(self.value.clone())
    }
    fn size(&self) -> usize {
        size_of_val(self) + self.value.size() + self.key.size()
    }
    fn state(&mut self) -> Result<Vec<ScalarValue>> {
        Ok(vec![self.value.clone(), self.key.clone()])
    }
    fn merge_batch(&mut self, states: &[ArrayRef]) -> Result<()> {
        self.absorb(&states[0], &states[1])
    }
}

/// `count_if(condition)`: how many rows the condition is true for (bigint).
#[derive(Debug, PartialEq, Eq, Hash)]
struct CountIf {
    signature: Signature,
}

impl CountIf {
    fn new() -> Self {
        CountIf {
            signature: Signature::exact(vec![DataType::Boolean], Volatility::Immutable),
        }
    }
}

impl AggregateUDFImpl for CountIf {
    fn name(&self) -> &str {
        "count_if"
    }
    fn signature(&self) -> &Signature {
        &self.signature
    }
    fn return_type(&self, _arg_types: &[DataType]) -> Result<DataType> {
        Ok(DataType::Int64)
    }
    fn is_nullable(&self) -> bool {
        false
    }
    fn default_value(&self, _data_type: &DataType) -> Result<ScalarValue> {
        Ok(ScalarValue::Int64(Some(0)))
    }
    fn state_fields(&self, args: StateFieldsArgs) -> Result<Vec<FieldRef>> {
        Ok(vec![Arc::new(Field::new(
            format!("{}_count", args.name),
            DataType::Int64,
            false,
        ))])
    }
    fn accumulator(&self, _acc_args: AccumulatorArgs) -> Result<Box<dyn Accumulator>> {
        Ok(Box::new(CountIfAccumulator(0)))
    }
    fn groups_accumulator_supported(&self, _args: AccumulatorArgs) -> bool {
        true
    }
    fn create_groups_accumulator(
        &self,
        _args: AccumulatorArgs,
    ) -> Result<Box<dyn GroupsAccumulator>> {
        Ok(Box::new(groups::CountIfGroups::default()))
    }
}

#[derive(Debug)]
struct CountIfAccumulator(i64);

impl Accumulator for CountIfAccumulator {
    fn update_batch(&mut self, values: &[ArrayRef]) -> Result<()> {
        let b = values[0].as_boolean();
        // Nulls are not true: count only valid true bits.
        let trues = match b.nulls() {
            None => b.true_count(),
            Some(_) => b.iter().filter(|v| *v == Some(true)).count(),
        };
        self.0 += i64::try_from(trues).unwrap_or(i64::MAX);
        Ok(())
    }
    fn evaluate(&mut self) -> Result<ScalarValue> {
        Ok(ScalarValue::Int64(Some(self.0)))
    }
    fn size(&self) -> usize {
        size_of_val(self)
    }
    fn state(&mut self) -> Result<Vec<ScalarValue>> {
        Ok(vec![ScalarValue::Int64(Some(self.0))])
    }
    fn merge_batch(&mut self, states: &[ArrayRef]) -> Result<()> {
        let c = states[0].as_primitive::<Int64Type>();
        self.0 += c.iter().flatten().sum::<i64>();
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ts(s: &str) -> DateTime<Utc> {
        parse_iso8601(s).unwrap()
    }

    #[test]
    fn iso8601_parsing_and_formatting() {
        assert_eq!(
            ts("2026-11-01T10:00:00+02:00").to_rfc3339(),
            "2026-11-01T08:00:00+00:00"
        );
        assert_eq!(ts("2026-11-01").to_rfc3339(), "2026-11-01T00:00:00+00:00");
        assert_eq!(ts("2026-11-01T10:00:00.250").timestamp_millis() % 1000, 250);
        assert!(parse_iso8601("yesterday").is_none());
        let ms = ts("2026-11-01T10:00:00Z").timestamp_millis();
        assert_eq!(format_iso8601(ms).unwrap(), "2026-11-01T10:00:00.000Z");
    }

    #[test]
    fn the_fast_path_reads_what_chrono_reads() {
        let mut checked = 0;
        for y in [
            0, 1, 1899, 1900, 1969, 1970, 2000, 2024, 2025, 2026, 2100, 9999,
        ] {
            for m in [0, 1, 2, 3, 9, 12, 13] {
                for d in [0, 1, 28, 29, 30, 31, 32] {
                    for time in [
                        "00:00:00", "23:59:59", "12:30:05", "24:00:00", "10:60:00", "10:00:60",
                    ] {
                        for frac in [
                            "",
                            ".5",
                            ".12",
                            ".123",
                            ".1239",
                            ".123456789",
                            ".",
                            ".1234567891",
                        ] {
                            let s = format!("{y:04}-{m:02}-{d:02}T{time}{frac}Z");
                            let slow = parse_iso8601(&s).map(|t| t.timestamp_millis());
                            if let Some(fast) = parse_utc_fast(s.as_bytes()) {
                                assert_eq!(Some(fast), slow, "{s}");
                                checked += 1;
                            }
                            assert_eq!(parse_iso8601_millis(&s), slow, "{s}");
                        }
                    }
                }
            }
        }
        assert!(checked > 4_000, "{checked}");
        for other in [
            "2026-11-01T10:00:00+02:00",
            "2026-11-01",
            "2026-11-01T10:00",
            "x2026-11-01T10:00:00Z",
        ] {
            assert_eq!(
                parse_iso8601_millis(other),
                parse_iso8601(other).map(|t| t.timestamp_millis()),
                "{other}"
            );
        }
    }

    #[test]
    fn the_fast_format_writes_what_chrono_writes() {
        let slow = |ms: i64| {
            Utc.timestamp_millis_opt(ms)
                .single()
                .map(|t| t.format("%Y-%m-%dT%H:%M:%S%.3fZ").to_string())
        };
        let mut samples = vec![0, -1, 1, 999, -86_400_000, i64::MIN, i64::MAX];
        // Around every new year from 0 to 10000 (leap years, the range's ends), and
        // every 97th day between, at a few times of day.
        let day = 86_400_000i64;
        let mut days = Vec::new();
        for y in 0..=10_000 {
            let jan1 = NaiveDate::from_ymd_opt(y, 1, 1).unwrap();
            let jan1 = jan1
                .and_time(chrono::NaiveTime::MIN)
                .and_utc()
                .timestamp_millis();
            days.extend([jan1 - 2 * day, jan1 - day, jan1, jan1 + 59 * day]);
        }
        let (first, last) = (days[0], days[days.len() - 1]);
        days.extend((first..last).step_by(97 * day as usize));
        for t in days {
            samples.extend([t, t + 1, t + 43_200_123, t + day - 1]);
        }
        for ms in samples {
            assert_eq!(format_iso8601(ms), slow(ms), "{ms}");
        }
    }

    #[test]
    fn nearest_rank_reads_p_as_written() {
        assert_eq!(nearest_rank(0.07, 100), 7);
        assert_eq!(nearest_rank(0.5, 4), 2);
        assert_eq!(nearest_rank(0.5, 5), 3);
        assert_eq!(nearest_rank(0.9, 10), 9);
        assert_eq!(nearest_rank(0.95, 20), 19);
        assert_eq!(nearest_rank(0.95, 21), 20);
        assert_eq!(nearest_rank(0.0, 5), 1);
        assert_eq!(nearest_rank(1.0, 5), 5);
        assert_eq!(nearest_rank(0.5, 1), 1);
        assert_eq!(nearest_rank(1e-30, 10), 1);
        for n in 1..2_000 {
            for (p, k) in [(0.5, 50), (0.9, 90), (0.95, 95), (0.07, 7), (0.29, 29)] {
                assert_eq!(nearest_rank(p, n), (n * k).div_ceil(100).max(1), "{p} {n}");
            }
        }
    }

    #[test]
    fn months_are_whole_calendar_months() {
        // End of month counts as a whole month, as in Trino (Joda's month difference).
        assert_eq!(months_between(ts("2026-01-31"), ts("2026-02-28")), 1);
        assert_eq!(months_between(ts("2026-01-31"), ts("2026-02-27")), 0);
        assert_eq!(months_between(ts("2026-01-31"), ts("2026-03-31")), 2);
        assert_eq!(months_between(ts("2026-03-31"), ts("2026-01-31")), -2);
        assert_eq!(months_between(ts("2025-11-15"), ts("2026-11-14")), 11);
        assert_eq!(unit("DAY").unwrap(), Unit::Fixed(86_400_000));
        assert!(unit("fortnight").is_err());
    }
}
