//! The reports `orc play` and `orc run` write beside their output: `--junit FILE`
//! (src/output/junit.rs, docs/ci.md). A report is one more consumer of the event stream, next to
//! the printer; it is written once the run has ended.

use std::io::Write;
use std::path::PathBuf;
use std::sync::Arc;

use crate::cli::CommonArgs;
use crate::error::{OrcError, Result};
use crate::output::{EventSink, JunitReport, MultiSink};

/// The reports asked for on the command line.
pub(crate) struct Reports {
    junit: Option<(Arc<JunitReport>, std::fs::File, PathBuf)>,
}

impl Reports {
    /// Opens the report files before anything runs: a path that cannot be written is a usage
    /// error (exit 64) now rather than a lost report after a long run. The file is emptied, so a
    /// report that could not be written at the end is not mistaken for this run's.
    pub(crate) fn open(c: &CommonArgs) -> Result<Reports> {
        let junit = match &c.junit {
            Some(path) => {
                let file = std::fs::File::create(path)
                    .map_err(|e| OrcError::Usage(format!("cannot write the JUnit report {}: {e}", path.display())))?;
                Some((Arc::new(JunitReport::new()), file, path.clone()))
            }
            None => None,
        };
        Ok(Reports { junit })
    }

    /// The printer, with the reports listening beside it.
    pub(crate) fn around(&self, printer: Box<dyn EventSink>) -> Box<dyn EventSink> {
        match &self.junit {
            Some((report, _, _)) => Box::new(MultiSink::new().with(printer).with(Box::new(report.clone()))),
            None => printer,
        }
    }

    /// Writes the reports (after the run; also after Ctrl-C, with what ran). A report that cannot
    /// be written is said on stderr; the run's exit code stands.
    pub(crate) fn finish(self) {
        if let Some((report, mut file, path)) = self.junit {
            let xml = report.to_xml();
            if let Err(e) = file.write_all(xml.as_bytes()).and_then(|_| file.flush()) {
                eprintln!("[ERROR]: could not write the JUnit report {}: {e}", path.display());
            }
        }
    }
}
