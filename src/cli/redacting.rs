//! The controller's log writer scrubs its secrets (the audit webhook URL)
//! from every line, whoever wrote it: kudo's own messages never carry it,
//! but a dependency's debug line or an error's cause might.

use std::{io, sync::Arc};

use tracing_subscriber::fmt::MakeWriter;

/// Writes through `inner`, with every secret replaced by `[redacted]`.
pub struct Redacting<M> {
    inner: M,
    secrets: Arc<[String]>,
}

impl<M> Redacting<M> {
    pub fn new(inner: M, secrets: Vec<String>) -> Self {
        Self { inner, secrets: secrets.into() }
    }
}

/// One log line (the formatter makes a writer per event): kept until
/// dropped, so that a secret split across two writes is still found whole.
pub struct Line<W: io::Write> {
    inner: W,
    secrets: Arc<[String]>,
    buf: Vec<u8>,
}

impl<'a, M: MakeWriter<'a>> MakeWriter<'a> for Redacting<M> {
    type Writer = Line<M::Writer>;

    fn make_writer(&'a self) -> Self::Writer {
        Line { inner: self.inner.make_writer(), secrets: self.secrets.clone(), buf: Vec::with_capacity(256) }
    }
}

impl<W: io::Write> io::Write for Line<W> {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        self.buf.extend_from_slice(buf);
        Ok(buf.len())
    }

    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}

impl<W: io::Write> Drop for Line<W> {
    fn drop(&mut self) {
        if self.buf.is_empty() {
            return;
        }
        let text = String::from_utf8_lossy(&self.buf);
        let line = crate::audit::redact_learned(&crate::audit::redact(&text, &self.secrets));
        // A log line that cannot be written has nowhere else to go.
        let _ = self.inner.write_all(line.as_bytes()).and_then(|()| self.inner.flush());
    }
}

#[cfg(test)]
mod tests {
    use std::sync::Mutex;

    use super::*;

    #[derive(Clone, Default)]
    struct Captured(Arc<Mutex<Vec<u8>>>);

    impl io::Write for Captured {
        fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
            self.0.lock().unwrap().extend_from_slice(buf);
            Ok(buf.len())
        }

        fn flush(&mut self) -> io::Result<()> {
            Ok(())
        }
    }

    #[test]
    fn no_line_carries_a_secret_whatever_its_level_or_field() {
        let captured = Captured::default();
        let sink = captured.clone();
        let writer = Redacting::new(move || sink.clone(), vec!["/services/T0/B0/s3cr3t".into()]);
        let subscriber =
            tracing_subscriber::fmt().json().with_max_level(tracing::Level::TRACE).with_writer(writer).finish();
        tracing::subscriber::with_default(subscriber, || {
            tracing::trace!(url = "https://hooks.example/services/T0/B0/s3cr3t", "connecting");
            tracing::error!("error sending request for url (https://hooks.example/services/T0/B0/s3cr3t)");
        });
        let logged = String::from_utf8(captured.0.lock().unwrap().clone()).unwrap();
        assert_eq!(logged.lines().count(), 2, "{logged}");
        assert!(!logged.contains("s3cr3t"), "{logged}");
        assert!(logged.contains("https://hooks.example[redacted]"), "{logged}");
    }

    #[test]
    fn urls_learned_while_running_are_scrubbed_too() {
        let captured = Captured::default();
        let sink = captured.clone();
        let writer = Redacting::new(move || sink.clone(), vec![]);
        let subscriber = tracing_subscriber::fmt().with_max_level(tracing::Level::TRACE).with_writer(writer).finish();
        let url = crate::audit::WebhookUrl::parse("https://hooks.example/services/T9/B9/l3arn3dXXXX").unwrap();
        crate::audit::learn(&url);
        tracing::subscriber::with_default(subscriber, || {
            tracing::debug!("POST https://hooks.example/services/T9/B9/l3arn3dXXXX");
        });
        let logged = String::from_utf8(captured.0.lock().unwrap().clone()).unwrap();
        assert!(logged.contains("POST [redacted]") && !logged.contains("l3arn3d"), "{logged}");
    }
}
