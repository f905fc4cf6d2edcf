//! The numeric helpers the tests are built from (SPEC.md, "Helpers").

mod diffs;
mod ecdf;
mod mean;
mod min_rank;
mod sorted_values;

pub(crate) use diffs::{abs_diff, rel_diff, rel_diff_at};
pub(crate) use ecdf::ecdf_at;
pub(crate) use mean::mean;
pub(crate) use min_rank::min_rank;
pub(crate) use sorted_values::{quantile_of_sorted, SortedValues};
