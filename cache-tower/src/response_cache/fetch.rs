//! A miss goes to the origin: one request per key at a time (request collapsing), the others
//! waiting for what it stored; and requests the cache does not handle are forwarded as they
//! are.

use http::Request;

use super::collapse::{Join, landed};
use super::exchange::{Asked, Exchange, Origin, Out, Storage, Target};
use super::key::MakeCacheKey;
use super::lookup::{pass, serve, ttl_of};
use super::rules::freshness::{Reuse, reuse};
use super::rules::status::CacheStatus;
use crate::body::ResponseBody;

/// Seconds a URI whose response was not stored skips request collapsing.
const PASS_FOR: u64 = 30;

impl<K: MakeCacheKey> Storage<K> {
    /// After waiting (at most the collapse timeout) for another request of the same key to
    /// come back from the origin: the answer from what it stored, if that is fresh for this
    /// request; `None` to go to the origin alone.
    pub(crate) async fn after_flight<B: http_body::Body>(
        &self,
        rx: tokio::sync::watch::Receiver<()>,
        asked: &Asked,
    ) -> Option<http::Response<ResponseBody<B>>> {
        let config = &self.config;
        if tokio::time::timeout(config.collapse_wait, landed(rx))
            .await
            .is_err()
        {
            tracing::debug!(uri = %asked.uri, "the collapsed request takes too long; going alone");
            return None;
        }
        let chosen = self.lookup(asked, &asked.headers, None).await.chosen?;
        let now = config.now();
        let stored = &chosen.stored;
        let age = stored.age(now);
        if !matches!(reuse(&stored.freshness, age, &asked.dirs), Reuse::Fresh) {
            return None;
        }
        let mut status = CacheStatus::hit(ttl_of(stored, now));
        status.collapsed = true;
        Some(serve(
            config,
            stored,
            age,
            asked.head,
            &asked.headers,
            status,
        ))
    }
}

impl<S, K: MakeCacheKey> Exchange<S, K> {
    /// Nothing stored matched: one origin request per key at a time; callers that waited
    /// reuse what the first stored, or go to the origin themselves.
    pub(crate) async fn miss<ReqBody>(
        mut self,
        req: Request<ReqBody>,
        asked: Asked,
        target: Target,
        status: CacheStatus,
    ) -> Out<S::Body, S::Error>
    where
        S: Origin<ReqBody>,
        ReqBody: Send + 'static,
    {
        let config = self.storage.config.clone();
        if !config.collapse || asked.is_conditional() {
            return Ok(self.fetch(req, &asked, target, status).await?.0);
        }
        let flight_key = asked.flight();
        match self.storage.flights.join(&flight_key, config.now()) {
            Join::Alone => Ok(self.fetch(req, &asked, target, status).await?.0),
            Join::Leader(flight) => {
                let (response, stored) = self.fetch(req, &asked, target, status).await?;
                if !stored {
                    // Hit-for-pass: while this URI answers uncacheably, its misses are not
                    // queued behind one another.
                    self.storage
                        .flights
                        .pass(&flight_key, config.now() + PASS_FOR);
                }
                drop(flight);
                Ok(response)
            }
            Join::Waiter(rx) => {
                if let Some(answer) = self.storage.after_flight(rx, &asked).await {
                    return Ok(answer);
                }
                Ok(self.fetch(req, &asked, target, status).await?.0)
            }
        }
    }

    /// Sends `req` to the origin and stores the response under `target` if the rules allow;
    /// says whether it did.
    pub(crate) async fn fetch<ReqBody>(
        &mut self,
        req: Request<ReqBody>,
        asked: &Asked,
        target: Target,
        status: CacheStatus,
    ) -> Result<(http::Response<ResponseBody<S::Body>>, bool), S::Error>
    where
        S: Origin<ReqBody>,
    {
        let request_time = self.storage.config.now();
        let response = self.inner.call(req).await?;
        Ok(self
            .storage
            .store_response(response, asked, target, request_time, status)
            .await)
    }

    /// Forwards without looking at storage.
    pub(crate) async fn forward<ReqBody>(
        &mut self,
        req: Request<ReqBody>,
        mut status: CacheStatus,
    ) -> Out<S::Body, S::Error>
    where
        S: Origin<ReqBody>,
    {
        let response = self.inner.call(req).await?;
        status.fwd_status = Some(response.status().as_u16());
        Ok(pass(&self.storage.config, response, &status))
    }
}
