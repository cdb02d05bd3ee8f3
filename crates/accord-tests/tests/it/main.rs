mod api;
mod app;
mod authz;
mod backends;
mod browser;
mod measures;
mod people;
mod store;
