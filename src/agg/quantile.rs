//! Percentiles by nearest rank (temporary exact version; the mergeable
//! sketch replaces it).

#[derive(Debug, Clone, Default)]
pub struct Quantiles {
    values: Vec<f64>,
}

impl Quantiles {
    pub fn new() -> Self {
        Self::default()
    }
    pub fn add(&mut self, x: f64) {
        if !x.is_nan() {
            self.values.push(x);
        }
    }
    pub fn merge(&mut self, o: &Quantiles) {
        self.values.extend_from_slice(&o.values);
    }
    pub fn count(&self) -> u64 {
        self.values.len() as u64
    }
    pub fn quantile(&self, p: f64) -> Option<f64> {
        if self.values.is_empty() {
            return None;
        }
        let mut v = self.values.clone();
        v.sort_by(f64::total_cmp);
        let n = v.len() as f64;
        let r = ((p / 100.0) * n).ceil().max(1.0) as usize;
        v.get(r.min(v.len()) - 1).copied()
    }
    pub fn min(&self) -> Option<f64> {
        self.values.iter().copied().reduce(f64::min)
    }
    pub fn max(&self) -> Option<f64> {
        self.values.iter().copied().reduce(f64::max)
    }
}
