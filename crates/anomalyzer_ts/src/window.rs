//! The bounded window: a ring buffer of the last `A + R` values.
//!
//! Memory is exactly `8 × capacity` bytes, allocated once; a push overwrites
//! the oldest value in O(1), so neither memory nor per-push cost ever grows
//! with the length of the stream.

/// Fixed-capacity ring buffer of `f64`, oldest value first.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Window {
    buf: Box<[f64]>,
    /// Index in `buf` of the oldest value.
    head: usize,
    len: usize,
}

impl Window {
    /// An empty window; `capacity` ≥ 1 is guaranteed by the configuration.
    pub(crate) fn with_capacity(capacity: usize) -> Self {
        Window {
            buf: vec![0.0; capacity].into_boxed_slice(),
            head: 0,
            len: 0,
        }
    }

    pub(crate) fn capacity(&self) -> usize {
        self.buf.len()
    }

    pub(crate) fn len(&self) -> usize {
        self.len
    }

    /// Bytes this window holds on the heap: its buffer, nothing else.
    #[cfg(test)]
    pub(crate) fn heap_bytes(&self) -> usize {
        std::mem::size_of_val(&*self.buf)
    }

    /// Appends `x`, dropping the oldest value when full.
    pub(crate) fn push(&mut self, x: f64) {
        let cap = self.buf.len();
        if self.len < cap {
            let tail = (self.head + self.len) % cap;
            self.buf[tail] = x;
            self.len += 1;
        } else {
            self.buf[self.head] = x;
            self.head = (self.head + 1) % cap;
        }
    }

    /// The values oldest first, as at most two slices.
    pub(crate) fn as_slices(&self) -> (&[f64], &[f64]) {
        let cap = self.buf.len();
        let end = self.head + self.len;
        if end <= cap {
            (&self.buf[self.head..end], &[])
        } else {
            (&self.buf[self.head..], &self.buf[..end - cap])
        }
    }

    /// The `i`-th value, oldest first; `i < len()` is the caller's invariant.
    pub(crate) fn get(&self, i: usize) -> f64 {
        debug_assert!(i < self.len);
        self.buf[(self.head + i) % self.buf.len()]
    }

    /// Appends `x` and returns the value it pushed out, if the window was full.
    pub(crate) fn push_evicting(&mut self, x: f64) -> Option<f64> {
        let gone = (self.len == self.buf.len()).then(|| self.buf[self.head]);
        self.push(x);
        gone
    }

    /// The largest value held, or `None` when empty.
    pub(crate) fn max(&self) -> Option<f64> {
        self.iter().reduce(f64::max)
    }

    /// Replaces `out`'s contents with the values, oldest first.
    pub(crate) fn copy_into(&self, out: &mut Vec<f64>) {
        let (a, b) = self.as_slices();
        out.clear();
        out.extend_from_slice(a);
        out.extend_from_slice(b);
    }

    pub(crate) fn iter(&self) -> impl Iterator<Item = f64> + '_ {
        let (a, b) = self.as_slices();
        a.iter().chain(b).copied()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn contents(w: &Window) -> Vec<f64> {
        let mut v = Vec::new();
        w.copy_into(&mut v);
        v
    }

    #[test]
    fn fills_then_drops_oldest() {
        let mut w = Window::with_capacity(3);
        assert_eq!(contents(&w), Vec::<f64>::new());
        for x in 1..=2 {
            w.push(f64::from(x));
        }
        assert_eq!(contents(&w), [1.0, 2.0]);
        for x in 3..=7 {
            w.push(f64::from(x));
            assert!(w.len() <= w.capacity());
        }
        assert_eq!(contents(&w), [5.0, 6.0, 7.0]);
        assert_eq!(w.iter().collect::<Vec<_>>(), [5.0, 6.0, 7.0]);
    }

    #[test]
    fn get_evict_and_max_follow_the_ring() {
        let mut w = Window::with_capacity(3);
        assert_eq!(w.max(), None);
        assert_eq!(w.push_evicting(1.0), None);
        w.push(5.0);
        assert_eq!(w.push_evicting(2.0), None);
        assert_eq!(w.push_evicting(3.0), Some(1.0));
        assert_eq!([w.get(0), w.get(1), w.get(2)], [5.0, 2.0, 3.0]);
        assert_eq!(w.max(), Some(5.0));
    }

    #[test]
    fn capacity_one_keeps_last() {
        let mut w = Window::with_capacity(1);
        w.push(1.0);
        w.push(2.0);
        assert_eq!(contents(&w), [2.0]);
    }
}
