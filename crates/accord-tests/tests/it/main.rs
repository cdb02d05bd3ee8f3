mod backends;
mod store;
