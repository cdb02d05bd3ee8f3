mod api;
mod app;
mod authz;
mod backends;
mod browser;
mod people;
mod store;
