//! Printable documents: a module builds one [`Document`]; this answers it as a print page (the
//! site's layout, its print stylesheet hiding the site around it) or as a PDF laid out by
//! `accord-pdf`, so the page and the file always say the same.

use crate::error::ApiError;
use crate::layout::{Shell, render};
use accord_domain::document::{Block, Document};
use accord_domain::{FieldError, Invalid};
use askama::Template;
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use tokio::sync::Semaphore;

#[derive(Template)]
#[template(path = "print/document.html")]
struct PrintPage<'a> {
    shell: Shell,
    doc: &'a Document,
    /// Where the page was printed from, and its name ("Back to the scorecard").
    back: (&'a str, &'a str),
    pdf_href: &'a str,
}

/// The document as a page: `back` is the page it prints (its address and name), `pdf_href` the
/// same document as PDF.
pub fn page(shell: Shell, doc: &Document, back: (&str, &str), pdf_href: &str) -> Response {
    render(StatusCode::OK, &PrintPage { shell, doc, back, pdf_href })
}

/// PDFs laid out at once on this server: a layout holds a core for up to seconds, so a burst of
/// requests for PDFs waits here rather than taking every core from the pages.
pub static RENDERS: Semaphore = Semaphore::const_new(2);

/// The document as a PDF download named `{file_stem}.pdf`, laid out off the async workers.
pub async fn pdf(doc: Document, file_stem: &str) -> Result<Response, ApiError> {
    let _turn = RENDERS.acquire().await.map_err(|e| ApiError::Internal(format!("pdf: {e}")))?;
    let pdf = tokio::task::spawn_blocking(move || accord_pdf::render(&doc))
        .await
        .map_err(|e| ApiError::Internal(format!("pdf: {e}")))?
        .map_err(|e| match e {
            accord_pdf::PdfError::TooLarge { .. } => ApiError::Invalid(Invalid(vec![FieldError {
                field: "document".into(),
                message: format!("{e}; print a part of it (filter the page first)"),
            }])),
            accord_pdf::PdfError::Layout(_) => ApiError::Internal(format!("pdf: {e}")),
        })?;
    let disposition = format!("attachment; filename=\"{file_stem}.pdf\"");
    Ok(([(header::CONTENT_TYPE, "application/pdf".to_owned()), (header::CONTENT_DISPOSITION, disposition)], pdf).into_response())
}

/// A name for a downloaded file: lower-case ASCII letters and digits, words joined by hyphens.
pub fn file_stem(text: &str) -> String {
    text.chars()
        .map(|c| if c.is_ascii_alphanumeric() { c.to_ascii_lowercase() } else { '-' })
        .collect::<String>()
        .split('-')
        .filter(|s| !s.is_empty())
        .collect::<Vec<_>>()
        .join("-")
}
