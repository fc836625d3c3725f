//! The censor sink: a writer every printer, the tracing layer and the error report write through
//! (src/ops/mod.rs, src/main.rs). It holds output back until a line is complete, so a secret is
//! never split between two writes, and replaces registered secrets before passing it on.

use std::io::Write;

/// Wraps a writer: complete lines are censored and written; the rest on flush or drop.
pub struct CensorWriter<W: Write> {
    inner: W,
    pending: Vec<u8>,
    /// Replaces everything written with [`super::NO_LOG_TRACE`] (a `no_log` task's trace).
    hide: bool,
}

impl<W: Write> CensorWriter<W> {
    /// A censoring writer over `inner`.
    pub fn new(inner: W) -> CensorWriter<W> {
        CensorWriter { inner, pending: Vec::new(), hide: false }
    }

    /// A writer for one trace event: hidden entirely inside a `no_log` task (super::NoLogScope).
    pub fn for_trace(inner: W) -> CensorWriter<W> {
        CensorWriter { inner, pending: Vec::new(), hide: super::in_no_log() }
    }

    fn emit(&mut self, upto: usize) -> std::io::Result<()> {
        let chunk: Vec<u8> = self.pending.drain(..upto).collect();
        if self.hide {
            return Ok(());
        }
        self.inner.write_all(&super::censor_bytes(&chunk))
    }
}

impl<W: Write> Write for CensorWriter<W> {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.pending.extend_from_slice(buf);
        if let Some(last) = self.pending.iter().rposition(|b| *b == b'\n') {
            self.emit(last + 1)?;
        }
        Ok(buf.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        let n = self.pending.len();
        self.emit(n)?;
        self.inner.flush()
    }
}

impl<W: Write> Drop for CensorWriter<W> {
    fn drop(&mut self) {
        if self.hide {
            let _ = self.inner.write_all(super::NO_LOG_TRACE.as_bytes());
            return;
        }
        let _ = self.flush();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn censors_secrets_split_across_writes() {
        super::super::register("spl1t-s3cret");
        let mut out = Vec::new();
        {
            let mut w = CensorWriter::new(&mut out);
            w.write_all(b"a spl1t").unwrap();
            w.write_all(b"-s3cret here\nand a tail").unwrap();
        }
        assert_eq!(String::from_utf8(out).unwrap(), "a ******** here\nand a tail");
    }
}
