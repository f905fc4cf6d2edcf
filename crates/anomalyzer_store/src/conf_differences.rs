//! Which fields of two detector configurations differ, for
//! [`Error::ConfigMismatch`](crate::Error::ConfigMismatch) and the CLI.

use anomalyzer_ts::AnomalyzerConf;

/// Serde names of the fields in which two configurations differ (empty if
/// they are equal), as listed by [`Error::ConfigMismatch`](crate::Error::ConfigMismatch).
///
/// ```
/// use anomalyzer_ts::AnomalyzerConf;
/// let a = AnomalyzerConf::builder().active_size(1).build()?;
/// let b = a.to_builder().perm_count(50).seed(7).build()?;
/// assert_eq!(anomalyzer_store::conf_differences(&a, &b), ["perm_count", "seed"]);
/// # Ok::<(), anomalyzer_ts::Error>(())
/// ```
#[must_use]
pub fn conf_differences(a: &AnomalyzerConf, b: &AnomalyzerConf) -> Vec<&'static str> {
    let (a, b) = (a.to_builder(), b.to_builder());
    let mut fields = Vec::new();
    let mut check = |name, differs: bool| {
        if differs {
            fields.push(name);
        }
    };
    check("methods", a.methods != b.methods);
    check("active_size", a.active_size != b.active_size);
    check("n_seasons", a.n_seasons != b.n_seasons);
    check("perm_count", a.perm_count != b.perm_count);
    check(
        "sensitivity",
        a.sensitivity.to_bits() != b.sensitivity.to_bits(),
    );
    check(
        "upper_bound",
        a.upper_bound.map(f64::to_bits) != b.upper_bound.map(f64::to_bits),
    );
    check(
        "lower_bound",
        a.lower_bound.map(f64::to_bits) != b.lower_bound.map(f64::to_bits),
    );
    check("delay", a.delay != b.delay);
    check("seed", a.seed != b.seed);
    check("exact_ranks", a.exact_ranks != b.exact_ranks);
    fields
}
