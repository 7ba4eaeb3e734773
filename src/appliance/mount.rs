//! Mounting an appliance in an actix-web application: the Engine.IO
//! endpoint, the metrics, the HTTP API and the chat's HTTP routes. Apart
//! from the appliance itself, which those routes' handlers read
//! (`web::Data<Appliance>`): the appliance does not know its HTTP side.

use actix_web::web;

use crate::appliance::Appliance;

impl Appliance {
    /// Mounts the Engine.IO endpoint (unless `socket_enabled` is off), the
    /// metrics (unless `metrics.enabled` is off) and, unless `api.enabled`
    /// is off, the HTTP API under `api.prefix`:
    /// `App::new().configure(appliance.service())`. Shares the appliance as
    /// `web::Data<Appliance>` for handlers and the [`crate::Operation`]
    /// extractor.
    pub fn service(&self) -> impl FnOnce(&mut web::ServiceConfig) + use<> {
        let engine = self.confab().service();
        let metrics = metrics(self);
        let appliance = web::Data::new(self.clone());
        move |cfg: &mut web::ServiceConfig| {
            metrics(cfg);
            if appliance.config().socket_enabled {
                engine(cfg);
            }
            if appliance.config().api.enabled {
                crate::appliance::http::configure(cfg, &appliance);
            }
            // Uploads, chat lookup and history, served files.
            if let Some(chat) = appliance.chat() {
                confab_chat_contract::rest::configure(
                    cfg,
                    chat.clone(),
                    appliance.verifier().clone(),
                );
            }
            cfg.app_data(appliance);
        }
    }
}

/// The appliance's metrics: its engine, its chat's push queue and its
/// Redis outbox.
fn metrics(appliance: &Appliance) -> impl FnOnce(&mut web::ServiceConfig) + use<> {
    let push = appliance
        .chat()
        .and_then(|c| c.pusher())
        .map(|p| p.queue().clone());
    crate::appliance::metrics::mount(
        &appliance.config().metrics,
        appliance.confab().engine().clone(),
        push,
        appliance.confab().outbox_drops().cloned(),
    )
}
