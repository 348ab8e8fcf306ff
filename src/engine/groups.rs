//! Grouped accumulators of the Trino aggregates in `functions.rs`: one state vector per
//! aggregate for all groups, instead of one boxed row accumulator per group. Reports
//! group a million action attempts; with a boxed accumulator (two `ScalarValue`s) per
//! group, DataFusion spent a third of their time converting rows to scalars and back
//! and most of their memory holding them.

use datafusion::arrow::array::{
    Array, ArrayRef, AsArray, BooleanArray, Int64Array, new_null_array,
};
use datafusion::arrow::compute::kernels::nullif::nullif;
use datafusion::arrow::compute::{cast, interleave, take};
use datafusion::arrow::datatypes::{DataType, Int64Type, UInt32Type};
use datafusion::common::Result;
use datafusion::logical_expr::{EmitTo, GroupsAccumulator};

/// Whether a key of this type is kept as an `i64` by [`ByExtremeGroups`] (integers,
/// dates and timestamps: what reports order by); other keys use the row accumulator.
pub fn is_integer_key(t: &DataType) -> bool {
    matches!(
        t,
        DataType::Int8
            | DataType::Int16
            | DataType::Int32
            | DataType::Int64
            | DataType::UInt8
            | DataType::UInt16
            | DataType::UInt32
            | DataType::Date32
            | DataType::Date64
            | DataType::Timestamp(_, _)
    )
}

/// Whether a row passes the aggregate's `FILTER (WHERE …)` (a NULL condition does not).
fn passes(filter: Option<&BooleanArray>, row: usize) -> bool {
    filter.is_none_or(|f| f.is_valid(row) && f.value(row))
}

/// `max_by(x, y)` / `min_by(x, y)` for all groups: per group the best key so far and
/// where its `x` is (a chunk of winning values and a row in it). Rows whose key is NULL
/// are ignored; on equal keys the first row seen stays, as the row accumulator does.
#[derive(Debug)]
pub struct ByExtremeGroups {
    max: bool,
    key_type: DataType,
    /// Per group: the best key and where its value is; a group whose slot is in
    /// chunk 0 has no key yet (unless this batch's scratch holds one).
    keys: Vec<i64>,
    slots: Vec<(usize, usize)>,
    /// Chunk 0 is a single NULL (the value of a group without rows).
    chunks: Vec<ArrayRef>,
    chunk_rows: usize,
    /// Scratch of one batch: the winning row per touched group.
    pending: Vec<u32>,
    touched: Vec<usize>,
}

const NONE: u32 = u32::MAX;

impl ByExtremeGroups {
    /// An accumulator keeping the value at the largest (`max`) or smallest key.
    pub fn new(max: bool, value_type: &DataType, key_type: &DataType) -> Self {
        ByExtremeGroups {
            max,
            key_type: key_type.clone(),
            keys: Vec::new(),
            slots: Vec::new(),
            chunks: vec![new_null_array(value_type, 1)],
            chunk_rows: 1,
            pending: Vec::new(),
            touched: Vec::new(),
        }
    }

    fn absorb(
        &mut self,
        values: &ArrayRef,
        keys: &ArrayRef,
        group_indices: &[usize],
        filter: Option<&BooleanArray>,
        total_num_groups: usize,
    ) -> Result<()> {
        self.keys.resize(total_num_groups, 0);
        self.slots.resize(total_num_groups, (0, 0));
        self.pending.resize(total_num_groups, NONE);
        let keys = cast(keys, &DataType::Int64)?;
        let keys = keys.as_primitive::<Int64Type>();
        for (row, &g) in group_indices.iter().enumerate() {
            if keys.is_null(row) || !passes(filter, row) {
                continue;
            }
            let k = keys.value(row);
            let has_key = self.pending[g] != NONE || self.slots[g].0 != 0;
            let better = !has_key
                || if self.max {
                    k > self.keys[g]
                } else {
                    k < self.keys[g]
                };
            if better {
                self.keys[g] = k;
                if self.pending[g] == NONE {
                    self.touched.push(g);
                }
                self.pending[g] = u32::try_from(row).unwrap_or(NONE - 1);
            }
        }
        if self.touched.is_empty() {
            return Ok(());
        }
        let rows: datafusion::arrow::array::PrimitiveArray<UInt32Type> = self
            .touched
            .iter()
            .map(|&g| Some(self.pending[g]))
            .collect();
        let chunk = take(values.as_ref(), &rows, None)?;
        let c = self.chunks.len();
        for (j, &g) in self.touched.iter().enumerate() {
            self.slots[g] = (c, j);
            self.pending[g] = NONE;
        }
        self.chunk_rows += chunk.len();
        self.chunks.push(chunk);
        self.touched.clear();
        // Values that lost their group's place stay in old chunks: gather the live ones
        // once the chunks hold more than twice what the groups need, or are many.
        if self.chunk_rows > 2 * self.slots.len() + 8192 || self.chunks.len() > 256 {
            self.compact()?;
        }
        Ok(())
    }

    fn gather(&self, slots: &[(usize, usize)]) -> Result<ArrayRef> {
        let chunks: Vec<&dyn Array> = self.chunks.iter().map(|c| c.as_ref()).collect();
        Ok(interleave(&chunks, slots)?)
    }

    fn compact(&mut self) -> Result<()> {
        let live = self.gather(&self.slots)?;
        let null = std::mem::take(&mut self.chunks).swap_remove(0);
        for (g, slot) in self.slots.iter_mut().enumerate() {
            *slot = if slot.0 != 0 { (1, g) } else { (0, 0) };
        }
        self.chunk_rows = 1 + live.len();
        self.chunks = vec![null, live];
        Ok(())
    }

    /// The values and keys of the groups `emit_to` gives out, which leave the state.
    fn emit(&mut self, emit_to: EmitTo) -> Result<(ArrayRef, Int64Array)> {
        let slots = emit_to.take_needed(&mut self.slots);
        let keys = emit_to.take_needed(&mut self.keys);
        self.pending.truncate(self.slots.len());
        let values = self.gather(&slots)?;
        let keys = keys
            .into_iter()
            .zip(&slots)
            .map(|(k, slot)| (slot.0 != 0).then_some(k))
            .collect();
        if self.slots.is_empty() {
            self.chunks.truncate(1);
            self.chunk_rows = 1;
        }
        Ok((values, keys))
    }
}

impl GroupsAccumulator for ByExtremeGroups {
    fn update_batch(
        &mut self,
        values: &[ArrayRef],
        group_indices: &[usize],
        opt_filter: Option<&BooleanArray>,
        total_num_groups: usize,
    ) -> Result<()> {
        self.absorb(
            &values[0],
            &values[1],
            group_indices,
            opt_filter,
            total_num_groups,
        )
    }

    fn evaluate(&mut self, emit_to: EmitTo) -> Result<ArrayRef> {
        Ok(self.emit(emit_to)?.0)
    }

    fn state(&mut self, emit_to: EmitTo) -> Result<Vec<ArrayRef>> {
        let (values, keys) = self.emit(emit_to)?;
        let keys = cast(&keys, &self.key_type)?;
        Ok(vec![values, keys])
    }

    fn merge_batch(
        &mut self,
        values: &[ArrayRef],
        group_indices: &[usize],
        total_num_groups: usize,
    ) -> Result<()> {
        self.absorb(
            &values[0],
            &values[1],
            group_indices,
            None,
            total_num_groups,
        )
    }

    fn convert_to_state(
        &self,
        values: &[ArrayRef],
        opt_filter: Option<&BooleanArray>,
    ) -> Result<Vec<ArrayRef>> {
        // Each row its own group: a row the filter drops gets a NULL key, which merging
        // ignores.
        let keys = match opt_filter {
            None => std::sync::Arc::clone(&values[1]),
            Some(f) => {
                let dropped: BooleanArray = (0..f.len())
                    .map(|row| Some(!passes(opt_filter, row)))
                    .collect();
                nullif(values[1].as_ref(), &dropped)?
            }
        };
        Ok(vec![std::sync::Arc::clone(&values[0]), keys])
    }

    fn size(&self) -> usize {
        self.keys.capacity() * size_of::<i64>()
            + self.slots.capacity() * size_of::<(usize, usize)>()
            + self.pending.capacity() * size_of::<u32>()
            + self.touched.capacity() * size_of::<usize>()
            + self
                .chunks
                .iter()
                .map(|c| c.get_array_memory_size())
                .sum::<usize>()
    }
}

/// `count_if(condition)` for all groups: a count per group.
#[derive(Debug, Default)]
pub struct CountIfGroups {
    counts: Vec<i64>,
}

impl CountIfGroups {
    fn add(&mut self, group_indices: &[usize], total_num_groups: usize, f: impl Fn(usize) -> i64) {
        self.counts.resize(total_num_groups, 0);
        for (row, &g) in group_indices.iter().enumerate() {
            self.counts[g] += f(row);
        }
    }

    fn emit(&mut self, emit_to: EmitTo) -> ArrayRef {
        std::sync::Arc::new(Int64Array::from(emit_to.take_needed(&mut self.counts)))
    }
}

impl GroupsAccumulator for CountIfGroups {
    fn update_batch(
        &mut self,
        values: &[ArrayRef],
        group_indices: &[usize],
        opt_filter: Option<&BooleanArray>,
        total_num_groups: usize,
    ) -> Result<()> {
        let b = values[0].as_boolean();
        // NULL is not true.
        self.add(group_indices, total_num_groups, |row| {
            i64::from(b.is_valid(row) && b.value(row) && passes(opt_filter, row))
        });
        Ok(())
    }

    fn evaluate(&mut self, emit_to: EmitTo) -> Result<ArrayRef> {
        Ok(self.emit(emit_to))
    }

    fn state(&mut self, emit_to: EmitTo) -> Result<Vec<ArrayRef>> {
        Ok(vec![self.emit(emit_to)])
    }

    fn merge_batch(
        &mut self,
        values: &[ArrayRef],
        group_indices: &[usize],
        total_num_groups: usize,
    ) -> Result<()> {
        let c = values[0].as_primitive::<Int64Type>();
        self.add(group_indices, total_num_groups, |row| {
            if c.is_valid(row) { c.value(row) } else { 0 }
        });
        Ok(())
    }

    fn convert_to_state(
        &self,
        values: &[ArrayRef],
        opt_filter: Option<&BooleanArray>,
    ) -> Result<Vec<ArrayRef>> {
        let b = values[0].as_boolean();
        let counts: Int64Array = (0..b.len())
            .map(|row| {
                Some(i64::from(
                    b.is_valid(row) && b.value(row) && passes(opt_filter, row),
                ))
            })
            .collect();
        Ok(vec![std::sync::Arc::new(counts)])
    }

    fn size(&self) -> usize {
        self.counts.capacity() * size_of::<i64>()
    }
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use datafusion::arrow::array::{StringArray, TimestampMillisecondArray};

    use super::*;

    fn strings(a: &ArrayRef) -> Vec<Option<String>> {
        a.as_string::<i32>()
            .iter()
            .map(|v| v.map(str::to_owned))
            .collect()
    }

    #[test]
    fn max_by_and_min_by_keep_the_value_at_the_extreme_key_per_group() {
        let ts = DataType::Timestamp(
            datafusion::arrow::datatypes::TimeUnit::Millisecond,
            Some("UTC".into()),
        );
        let values: ArrayRef = Arc::new(StringArray::from(vec![
            Some("a"),
            Some("b"),
            None,
            Some("d"),
            Some("e"),
            Some("f"),
        ]));
        let keys: ArrayRef = Arc::new(
            TimestampMillisecondArray::from(vec![
                Some(5),
                Some(9),
                Some(10),
                None,
                Some(9),
                Some(1),
            ])
            .with_timezone("UTC"),
        );
        // Groups: 0 0 1 1 0 2; the filter drops row 5.
        let groups = [0, 0, 1, 1, 0, 2];
        let filter = BooleanArray::from(vec![true, true, true, true, true, false]);
        let mut max = ByExtremeGroups::new(true, &DataType::Utf8, &ts);
        max.update_batch(&[values.clone(), keys.clone()], &groups, Some(&filter), 3)
            .unwrap();
        // Equal keys (9): the first row seen stays; a NULL value at the best key is kept;
        // a group without rows is NULL.
        let out = max.evaluate(EmitTo::All).unwrap();
        assert_eq!(strings(&out), [Some("b".into()), None, None]);

        let mut min = ByExtremeGroups::new(false, &DataType::Utf8, &ts);
        min.update_batch(&[values.clone(), keys.clone()], &groups, None, 3)
            .unwrap();
        // A second batch improves group 1 only; states merge into another accumulator.
        let later: ArrayRef = Arc::new(StringArray::from(vec![Some("x"), Some("y")]));
        let later_keys: ArrayRef =
            Arc::new(TimestampMillisecondArray::from(vec![7, 6]).with_timezone("UTC"));
        min.update_batch(&[later, later_keys], &[0, 1], None, 3)
            .unwrap();
        let state = min.state(EmitTo::All).unwrap();
        assert_eq!(state[1].data_type(), &ts);
        let mut merged = ByExtremeGroups::new(false, &DataType::Utf8, &ts);
        merged.merge_batch(&state, &[2, 1, 0], 3).unwrap();
        let out = merged.evaluate(EmitTo::All).unwrap();
        assert_eq!(
            strings(&out),
            [Some("f".into()), Some("y".into()), Some("a".into())]
        );
    }

    #[test]
    fn rows_turned_into_states_merge_like_updates() {
        // What DataFusion does when pre-aggregation does not pay: each row its own
        // state, merged by the final aggregation. Filtered-out rows must not count.
        let ts = DataType::Timestamp(
            datafusion::arrow::datatypes::TimeUnit::Millisecond,
            Some("UTC".into()),
        );
        let values: ArrayRef = Arc::new(StringArray::from(vec!["a", "b", "c", "d"]));
        let keys: ArrayRef = Arc::new(
            TimestampMillisecondArray::from(vec![Some(1), Some(9), None, Some(5)])
                .with_timezone("UTC"),
        );
        let filter = BooleanArray::from(vec![Some(true), None, Some(true), Some(true)]);
        let groups = [0, 0, 1, 0];
        let mut direct = ByExtremeGroups::new(true, &DataType::Utf8, &ts);
        direct
            .update_batch(&[values.clone(), keys.clone()], &groups, Some(&filter), 2)
            .unwrap();
        let proto = ByExtremeGroups::new(true, &DataType::Utf8, &ts);
        let state = proto
            .convert_to_state(&[values, keys], Some(&filter))
            .unwrap();
        assert_eq!(state[1].data_type(), &ts);
        let mut merged = ByExtremeGroups::new(true, &DataType::Utf8, &ts);
        merged.merge_batch(&state, &groups, 2).unwrap();
        let (a, b) = (
            direct.evaluate(EmitTo::All).unwrap(),
            merged.evaluate(EmitTo::All).unwrap(),
        );
        assert_eq!(strings(&a), [Some("d".into()), None]);
        assert_eq!(strings(&a), strings(&b));

        let flags: ArrayRef = Arc::new(BooleanArray::from(vec![
            Some(true),
            Some(true),
            None,
            Some(false),
        ]));
        let state = CountIfGroups::default()
            .convert_to_state(&[flags], Some(&filter))
            .unwrap();
        let mut counts = CountIfGroups::default();
        counts.merge_batch(&state, &groups, 2).unwrap();
        let out = counts.evaluate(EmitTo::All).unwrap();
        assert_eq!(out.as_primitive::<Int64Type>().values().to_vec(), [1, 0]);
    }

    #[test]
    fn max_by_stays_right_across_compaction_and_partial_emits() {
        let mut acc = ByExtremeGroups::new(true, &DataType::Int64, &DataType::Int64);
        let groups: Vec<usize> = (0..1000).map(|i| i % 10).collect();
        // 300 batches of 1,000 rows: old chunks are gathered more than once.
        for batch in 0..300i64 {
            let keys: ArrayRef = Arc::new(Int64Array::from_iter_values(
                (0..1000).map(|i| batch * 1000 + i),
            ));
            let values: ArrayRef = Arc::new(Int64Array::from_iter_values(
                (0..1000).map(|i| -(batch * 1000 + i)),
            ));
            acc.update_batch(&[values, keys], &groups, None, 10)
                .unwrap();
        }
        assert!(acc.chunks.len() < 300, "compacted: {}", acc.chunks.len());
        let first = acc.evaluate(EmitTo::First(3)).unwrap();
        let first = first.as_primitive::<Int64Type>();
        assert_eq!(first.values().to_vec(), [-299990, -299991, -299992]);
        let rest = acc.evaluate(EmitTo::All).unwrap();
        let rest = rest.as_primitive::<Int64Type>();
        assert_eq!(rest.len(), 7);
        assert_eq!(rest.value(0), -299993);
        assert_eq!(rest.value(6), -299999);
    }

    #[test]
    fn count_if_counts_true_rows_that_pass_the_filter() {
        let mut acc = CountIfGroups::default();
        let b: ArrayRef = Arc::new(BooleanArray::from(vec![
            Some(true),
            Some(false),
            None,
            Some(true),
            Some(true),
        ]));
        let filter = BooleanArray::from(vec![Some(true), Some(true), Some(true), None, Some(true)]);
        acc.update_batch(&[b], &[0, 0, 1, 1, 2], Some(&filter), 4)
            .unwrap();
        let state = acc.state(EmitTo::All).unwrap();
        let mut merged = CountIfGroups::default();
        merged.merge_batch(&state, &[1, 0, 1, 0], 2).unwrap();
        let out = merged.evaluate(EmitTo::All).unwrap();
        assert_eq!(out.as_primitive::<Int64Type>().values().to_vec(), [0, 2]);
    }
}
