//! The people module's page routes.

use super::{account, admin, invitation, setup, sign_in};

pages! { ROUTES, router;
    get "/setup/{secret}" => setup::form;
    post "/setup/{secret}" => setup::submit;
    get "/login" => sign_in::form;
    post "/login" => sign_in::submit;
    post "/logout" => sign_in::logout;
    get "/reset/{token}" => sign_in::reset_form;
    post "/reset/{token}" => sign_in::reset_submit;
    get "/invitations/{token}" => invitation::show;
    post "/invitations/{token}" => invitation::accept;
    get "/account" => account::show;
    post "/account/password" => account::change_password;
    post "/account/tokens" => account::create_token;
    post "/account/tokens/{token_id}/revoke" => account::revoke_token;
    get "/admin/organisations" => admin::organisations;
    post "/admin/organisations" => admin::create_organisation;
    get "/admin/users" => admin::users;
    post "/admin/users" => admin::create_user;
    post "/admin/users/{user_id}/disable" => admin::disable_user;
    post "/admin/users/{user_id}/enable" => admin::enable_user;
    post "/admin/users/{user_id}/reset-link" => admin::reset_link;
}
