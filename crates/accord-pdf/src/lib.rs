//! Accord's PDFs: an [`accord_domain::document::Document`] laid out by typst, used as a library.
//!
//! The engine sees a world of exactly two files: our fixed template (`document.typ`, compiled in)
//! and `data.json`, the document serialised. People's text therefore reaches typst only as JSON
//! strings, which the template places as values (shown as text, never parsed as markup or code).
//! Every other path, every package (`@preview/...`) and the clock answer "access denied" or
//! nothing; the fonts are compiled in. A document is bounded before it is laid out
//! ([`MAX_TEXT_BYTES`], [`MAX_BOXES`]), so one request cannot hold a worker for long.

use accord_domain::document::Document;
use std::sync::LazyLock;
use typst::diag::{FileError, FileResult, SourceDiagnostic};
use typst::foundations::{Bytes, Datetime, Duration};
use typst::syntax::{FileId, RootedPath, Source, VirtualPath, VirtualRoot};
use typst::text::{Font, FontBook};
use typst::utils::LazyHash;
use typst::{Library, LibraryExt, World};
use typst_layout::PagedDocument;

/// Text in a document, all strings counted: about 600 pages of dense prose.
pub const MAX_TEXT_BYTES: usize = 2 << 20;
/// Paragraphs, fields and table cells: a table of 2,500 rows of 8 columns fits (about 60 pages;
/// a debug build lays out some 250 cells a second, a release build many times that).
pub const MAX_BOXES: usize = 20_000;

#[derive(Debug, thiserror::Error)]
pub enum PdfError {
    #[error("the document is too large to print as PDF: {what} is {size}, the limit {limit}")]
    TooLarge { what: &'static str, size: usize, limit: usize },
    #[error("the document could not be laid out: {0}")]
    Layout(String),
}

const TEMPLATE: &str = include_str!("document.typ");

/// DejaVu Sans for every alphabet it has, Droid Sans Fallback for Chinese, Japanese and Korean.
const FONTS: [&[u8]; 3] = [
    include_bytes!("../fonts/DejaVuSans.ttf"),
    include_bytes!("../fonts/DejaVuSans-Bold.ttf"),
    include_bytes!("../fonts/DroidSansFallback.ttf"),
];

/// What every render shares, built on first use: the standard library, the fonts, the template.
struct Engine {
    library: LazyHash<Library>,
    book: LazyHash<FontBook>,
    fonts: Vec<Font>,
    template: Source,
    data: FileId,
}

fn file_id(path: &str) -> FileId {
    FileId::new(RootedPath::new(VirtualRoot::Project, VirtualPath::new(path).expect("a fixed path")))
}

static ENGINE: LazyLock<Engine> = LazyLock::new(|| {
    let fonts: Vec<Font> = FONTS.iter().flat_map(|data| Font::iter(Bytes::new(*data))).collect();
    Engine {
        library: LazyHash::new(Library::default()),
        book: LazyHash::new(FontBook::from_fonts(&fonts)),
        fonts,
        template: Source::new(file_id("/document.typ"), TEMPLATE.to_owned()),
        data: file_id("/data.json"),
    }
});

/// One render's world: the shared engine and this document's data.
struct Job {
    engine: &'static Engine,
    data: Bytes,
}

impl World for Job {
    fn library(&self) -> &LazyHash<Library> {
        &self.engine.library
    }

    fn book(&self) -> &LazyHash<FontBook> {
        &self.engine.book
    }

    fn main(&self) -> FileId {
        self.engine.template.id()
    }

    fn source(&self, id: FileId) -> FileResult<Source> {
        if id == self.engine.template.id() { Ok(self.engine.template.clone()) } else { Err(FileError::AccessDenied) }
    }

    fn file(&self, id: FileId) -> FileResult<Bytes> {
        if id == self.engine.data { Ok(self.data.clone()) } else { Err(FileError::AccessDenied) }
    }

    fn font(&self, index: usize) -> Option<Font> {
        self.engine.fonts.get(index).cloned()
    }

    /// No clock: a PDF is the same bytes for the same document, whenever it is made.
    fn today(&self, _: Option<Duration>) -> Option<Datetime> {
        None
    }
}

/// Refuses a document over [`MAX_TEXT_BYTES`] or [`MAX_BOXES`] before any work is done.
pub fn check_size(document: &Document) -> Result<(), PdfError> {
    let size = document.size();
    if size.text_bytes > MAX_TEXT_BYTES {
        return Err(PdfError::TooLarge { what: "its text in bytes", size: size.text_bytes, limit: MAX_TEXT_BYTES });
    }
    if size.boxes > MAX_BOXES {
        return Err(PdfError::TooLarge { what: "its count of paragraphs, fields and table cells", size: size.boxes, limit: MAX_BOXES });
    }
    Ok(())
}

/// Lays the document out as an A4 PDF with its fonts embedded. Blocking and CPU-bound (tens of
/// milliseconds to seconds): call it from `spawn_blocking`.
pub fn render(document: &Document) -> Result<Vec<u8>, PdfError> {
    check_size(document)?;
    let data = serde_json::to_vec(document).map_err(|e| PdfError::Layout(e.to_string()))?;
    let job = Job { engine: &ENGINE, data: Bytes::new(data) };
    // typst is not expected to panic on any data, but a panic must not take a server thread's
    // answer with it.
    let pdf = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
        let laid_out = typst::compile::<PagedDocument>(&job).output.map_err(messages)?;
        typst_pdf::pdf(&laid_out, &typst_pdf::PdfOptions::default()).map_err(messages)
    }))
    .unwrap_or_else(|_| Err(PdfError::Layout("the engine failed".into())));
    // typst memoises across compilations; a server renders unrelated documents, so nothing is
    // worth keeping and memory stays flat.
    typst::comemo::evict(0);
    pdf
}

fn messages(errors: impl std::ops::Deref<Target = [SourceDiagnostic]>) -> PdfError {
    PdfError::Layout(errors.iter().map(|e| e.message.as_str()).collect::<Vec<_>>().join("; "))
}

#[cfg(test)]
mod tests {
    use super::*;
    use typst::syntax::package::PackageSpec;

    #[test]
    fn the_world_holds_the_template_and_the_data_and_denies_everything_else() {
        let job = Job { engine: &ENGINE, data: Bytes::new(b"{}".to_vec()) };
        assert!(job.source(job.main()).is_ok());
        assert_eq!(job.file(ENGINE.data).unwrap().as_slice(), b"{}");
        let package: PackageSpec = "@preview/x:0.1.0".parse().unwrap();
        let outside = [
            file_id("/etc/passwd"),
            file_id("/data.json.bak"),
            FileId::new(RootedPath::new(VirtualRoot::Package(package.clone()), VirtualPath::new("/lib.typ").unwrap())),
            FileId::new(RootedPath::new(VirtualRoot::Package(package), VirtualPath::new("/data.json").unwrap())),
        ];
        for id in outside {
            assert!(matches!(job.file(id), Err(FileError::AccessDenied)), "{id:?}");
            assert!(matches!(job.source(id), Err(FileError::AccessDenied)), "{id:?}");
        }
        assert!(job.today(None).is_none());
        assert!(job.font(ENGINE.fonts.len()).is_none());
    }
}
