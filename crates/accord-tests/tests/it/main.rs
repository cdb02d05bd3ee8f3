mod api;
mod app;
mod authz;
mod backends;
mod people;
mod store;
