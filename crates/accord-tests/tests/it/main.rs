mod api;
mod app;
mod backends;
mod store;
