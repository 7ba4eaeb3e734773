//! How many images are converted at once. Each conversion may take its
//! whole memory budget, so the number running bounds what they take
//! together. An image waits a little for a slot, then is turned away (503
//! with `Retry-After`) rather than queued without end.

use std::sync::Arc;
use std::time::Duration;

use tokio::sync::{OwnedSemaphorePermit, Semaphore};

/// The conversion slots of one service.
#[derive(Debug, Clone)]
pub struct DecodeGate {
    slots: Arc<Semaphore>,
    wait: Duration,
}

/// No slot came free in time.
#[derive(Debug, thiserror::Error)]
#[error("the server is busy converting images, try again in {retry_after} s")]
pub struct Busy {
    /// Seconds the client is asked to wait (`Retry-After`).
    pub retry_after: u64,
}

impl DecodeGate {
    /// `slots` conversions at once (at least one); an image waits up to
    /// `wait` for one.
    pub fn new(slots: usize, wait: Duration) -> DecodeGate {
        DecodeGate {
            slots: Arc::new(Semaphore::new(slots.max(1))),
            wait,
        }
    }

    /// A slot, held until the permit is dropped (move it into the blocking
    /// task, so that a conversion whose client has gone still counts).
    pub async fn enter(&self) -> Result<OwnedSemaphorePermit, Busy> {
        // `timeout` polls the acquisition first: a free slot is taken even
        // with no wait at all.
        match tokio::time::timeout(self.wait, self.slots.clone().acquire_owned()).await {
            Ok(Ok(permit)) => Ok(permit),
            _ => Err(Busy {
                retry_after: self.wait.as_secs().max(1),
            }),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[actix_rt::test]
    async fn past_its_slots_an_image_waits_then_is_turned_away() {
        let gate = DecodeGate::new(1, Duration::ZERO);
        let held = gate.enter().await.unwrap();
        assert_eq!(gate.enter().await.unwrap_err().retry_after, 1);
        drop(held);
        assert!(gate.enter().await.is_ok());

        let patient = DecodeGate::new(1, Duration::from_secs(30));
        let held = patient.enter().await.unwrap();
        let waiting = patient.clone();
        let next = actix_rt::spawn(async move { waiting.enter().await.is_ok() });
        tokio::task::yield_now().await;
        drop(held);
        assert!(next.await.unwrap(), "the waiting image got the slot");
    }
}
