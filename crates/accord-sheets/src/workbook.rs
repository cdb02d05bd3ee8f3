//! An XLSX is a zip of XML parts. Before calamine opens one, its directory and the parts that
//! could hold much are checked against the limits, so that a file of a few kilobytes can neither
//! unpack to gigabytes nor hold a string of millions of characters: calamine reads the shared
//! strings table whole, and each cell's text whole.

use crate::read::cut;
use crate::{CellError, MAX_CELL_CHARS, MAX_PART_BYTES, MAX_PARTS, MAX_UNPACKED_BYTES, Problems};
use std::io::Read;

/// The XML text of one cell: entities and character references take up to ten bytes a
/// character, so this admits every cell of [`MAX_CELL_CHARS`] characters.
const MAX_CELL_XML_BYTES: usize = MAX_CELL_CHARS * 10;
/// The longest tag (with its attributes); real ones are a few hundred bytes.
const MAX_TAG_BYTES: usize = 64 * 1024;

/// Refuses a workbook that is over a limit, or whose zip cannot be read.
pub(crate) fn check(bytes: &[u8]) -> Result<(), Problems> {
    // Each entry of a zip's directory starts with this signature. Counted before the zip reader
    // indexes them: a 20 MiB file can list hundreds of thousands.
    let parts = memchr::memmem::find_iter(bytes, b"PK\x01\x02").count();
    if parts > MAX_PARTS {
        return Err(Problems::too_large(format!(
            "the workbook has {} parts (files inside the XLSX); at most {} are read: save it as CSV",
            crate::read::thousands(parts),
            crate::read::thousands(MAX_PARTS)
        )));
    }
    // Names and messages come from the file: quoted as briefly as cells are.
    let unreadable = |e: &dyn std::fmt::Display| {
        Problems::from(CellError::file(0, format!("cannot be read as an XLSX workbook: {}", cut(&e.to_string()))))
    };
    let mut zip = zip::ZipArchive::new(std::io::Cursor::new(bytes)).map_err(|e| unreadable(&e))?;
    // The declared sizes first, from the directory alone. The zip reader stops any part at its
    // declared size, so these bound what calamine unpacks too.
    let mut total = 0u64;
    let mut scanned = Vec::new();
    for i in 0..zip.len() {
        let part = zip.by_index_raw(i).map_err(|e| unreadable(&e))?;
        let full = part.name().map_err(|e| unreadable(&e))?;
        let (lower, name) = (full.to_ascii_lowercase(), cut(&full));
        let size = part.size();
        total = total.saturating_add(size);
        if total > MAX_UNPACKED_BYTES {
            return Err(Problems::too_large(format!(
                "the workbook unpacks to more than {} MiB, the most read: save it as CSV",
                MAX_UNPACKED_BYTES >> 20
            )));
        }
        let worksheet = is_worksheet(&lower);
        if size > MAX_PART_BYTES && !worksheet {
            return Err(Problems::too_large(format!(
                "{name} unpacks to {:.1} MiB; at most {} MiB of it is read: save the workbook as CSV",
                size as f64 / 1048576.0,
                MAX_PART_BYTES >> 20
            )));
        }
        if worksheet || lower.ends_with("sharedstrings.xml") || lower == "_rels/.rels" {
            scanned.push((i, name, size, lower == "_rels/.rels"));
        }
    }
    // Worksheets may be large because calamine reads them a cell at a time; each cell is
    // bounded by reading them once here.
    for (i, name, size, package_rels) in scanned {
        let part = zip.by_index(i).map_err(|e| unreadable(&e))?;
        let mut scan = Scan { part: &name, size, package_rels, ..Scan::default() };
        scan.read(part).map_err(|e| match e {
            Refusal::Problem(problems) => problems,
            Refusal::Unreadable(e) => unreadable(&format!("{name}: {e}")),
        })?;
    }
    Ok(())
}

/// The only parts exempt from [`MAX_PART_BYTES`]: worksheets as every writer names them.
fn is_worksheet(lower: &str) -> bool {
    lower
        .strip_prefix("xl/worksheets/sheet")
        .and_then(|rest| rest.strip_suffix(".xml"))
        .is_some_and(|n| !n.is_empty() && n.bytes().all(|b| b.is_ascii_digit()))
}

enum Refusal {
    Problem(Problems),
    Unreadable(std::io::Error),
}

/// Reads one part's XML as bytes: tags and the text between them, and which cell (`<c>`) or
/// shared string (`<si>`) the text belongs to, since calamine joins all the text of one.
#[derive(Default)]
struct Scan<'a> {
    part: &'a str,
    size: u64,
    /// The package's relationships, which name the workbook part.
    package_rels: bool,
    in_tag: bool,
    tag: Vec<u8>,
    /// The run of text since the last tag.
    text: usize,
    /// The cell or shared string open (its tag name) and the text it holds so far.
    item: Option<(Vec<u8>, usize)>,
}

impl Scan<'_> {
    fn read(&mut self, mut part: impl Read) -> Result<(), Refusal> {
        let mut buffer = vec![0; 64 * 1024];
        loop {
            let n = part.read(&mut buffer).map_err(Refusal::Unreadable)?;
            if n == 0 {
                break;
            }
            self.bytes(&buffer[..n])?;
        }
        Ok(())
    }

    fn bytes(&mut self, mut bytes: &[u8]) -> Result<(), Refusal> {
        while !bytes.is_empty() {
            if self.in_tag {
                let end = memchr::memchr(b'>', bytes);
                let take = end.map_or(bytes.len(), |e| e + 1);
                if self.tag.len() + take > MAX_TAG_BYTES {
                    return Err(self.damaged(&format!("it has a tag longer than {} KiB", MAX_TAG_BYTES >> 10)));
                }
                self.tag.extend_from_slice(&bytes[..take]);
                bytes = &bytes[take..];
                if end.is_some() {
                    self.in_tag = false;
                    self.end_of_tag()?;
                    self.tag.clear();
                }
            } else {
                let end = memchr::memchr(b'<', bytes);
                let take = end.unwrap_or(bytes.len());
                self.text += take;
                if let Some((_, held)) = &mut self.item {
                    *held += take;
                }
                if self.text > MAX_CELL_XML_BYTES || self.item.as_ref().is_some_and(|(_, held)| *held > MAX_CELL_XML_BYTES) {
                    return Err(Refusal::Problem(
                        CellError::file(
                            0,
                            format!(
                                "{} holds a cell longer than {} characters, the most a cell may hold",
                                self.part,
                                crate::read::thousands(MAX_CELL_CHARS)
                            ),
                        )
                        .into(),
                    ));
                }
                bytes = &bytes[take..];
                if end.is_some() {
                    self.in_tag = true;
                    self.text = 0;
                }
            }
        }
        Ok(())
    }

    fn end_of_tag(&mut self) -> Result<(), Refusal> {
        let tag = &self.tag[..];
        // <?xml ...?>, <!-- ... -->, <![CDATA[: nothing opens or closes.
        if tag.starts_with(b"<?") || tag.starts_with(b"<!") {
            return Ok(());
        }
        // A workbook part inside the worksheets would be exempt from the part limit, yet read
        // whole.
        if self.package_rels && memchr::memmem::find(&tag.to_ascii_lowercase(), b"worksheets/").is_some() {
            return Err(self.damaged("its workbook part is among the worksheets"));
        }
        let closing = tag.starts_with(b"</");
        let body = &tag[if closing { 2 } else { 1 }..tag.len() - 1];
        let name_end = body.iter().position(|b| b.is_ascii_whitespace() || *b == b'/').unwrap_or(body.len());
        let name = &body[..name_end];
        let local = name.rsplit(|b| *b == b':').next().unwrap_or(name);
        if closing {
            // Closed only by its own name: calamine reads a cell's text until that end tag.
            if self.item.as_ref().is_some_and(|(open, _)| open == name) {
                self.item = None;
            }
            return Ok(());
        }
        if local == b"sst" {
            self.check_string_count(body)?;
        }
        let empty = body.ends_with(b"/");
        if !empty && self.item.is_none() && (local == b"c" || local == b"si") {
            self.item = Some((name.to_vec(), 0));
        }
        Ok(())
    }

    /// calamine reserves room for as many strings as the table's `uniqueCount` says, so a table
    /// may not declare more than it could hold (each takes at least `<si/>`, five bytes).
    fn check_string_count(&self, body: &[u8]) -> Result<(), Refusal> {
        let mut rest = body;
        while let Some(at) = memchr::memmem::find(rest, b"uniqueCount") {
            rest = &rest[at + b"uniqueCount".len()..];
            let digits = rest.iter().skip_while(|b| matches!(b, b'=' | b'"' | b'\'' | b'+') || b.is_ascii_whitespace());
            let declared =
                digits.take_while(|b| b.is_ascii_digit()).fold(0u64, |n, b| n.saturating_mul(10).saturating_add(u64::from(b - b'0')));
            if declared > self.size / 5 + 1 {
                return Err(self.damaged("it declares more strings than it holds"));
            }
        }
        Ok(())
    }

    fn damaged(&self, why: &str) -> Refusal {
        Refusal::Problem(CellError::file(0, format!("cannot be read as an XLSX workbook: {}: {why}", self.part)).into())
    }
}
