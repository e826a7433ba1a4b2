//! Static archives (`-l`), read through their symbol index, and GNU ld `GROUP()` scripts
//! that stand in for an archive (glibc's `libm.a` on x86-64).

use crate::error::{ErrorKind, LinkError, Result};
use crate::input::elf::{ObjectFile, Shndx};
use object::read::archive::ArchiveFile;
use std::collections::HashMap;
use std::sync::{Arc, OnceLock};

/// One member of an archive.
#[derive(Debug, Clone)]
pub struct Member {
    /// Member name (GNU long names resolved, trailing `/` removed).
    pub name: String,
    /// Byte range of the member's contents within the archive.
    pub range: (usize, usize),
}

/// A static archive with its symbol index.
#[derive(Debug, Clone)]
pub struct Archive {
    /// The path as given (or as named inside a GROUP script).
    pub path: String,
    data: Vec<u8>,
    /// Members in archive order.
    pub members: Vec<Member>,
    /// Defined global symbol -> index of the member that defines it (the last one, as
    /// mpy_ld.py's `ar_util` keeps the last).
    pub symbols: HashMap<String, usize>,
    /// Members parsed so far, so that every link after the first reuses them.
    parsed: Vec<OnceLock<Result<Arc<ObjectFile>>>>,
}

impl Archive {
    /// Parses archive bytes; `path` names it in messages.
    pub fn parse(path: &str, data: Vec<u8>) -> Result<Archive> {
        let bad = |why: String| {
            LinkError::new(
                ErrorKind::BadArchive,
                format!("{path}: malformed archive: {why}"),
            )
            .object(path)
        };
        let (members, index) = {
            let ar = ArchiveFile::parse(&*data).map_err(|e| bad(e.to_string()))?;
            let mut members = Vec::new();
            let mut by_offset = HashMap::new();
            for m in ar.members() {
                let m = m.map_err(|e| bad(e.to_string()))?;
                let raw = String::from_utf8_lossy(m.name()).into_owned();
                let name = raw.strip_suffix('/').unwrap_or(&raw).to_string();
                let (start, size) = m.file_range();
                // The header's size is not checked against the archive by `object`.
                let end = start
                    .checked_add(size)
                    .filter(|&e| e <= data.len() as u64)
                    .ok_or_else(|| {
                        bad(format!(
                            "member {name} ({size} bytes at offset {start}) extends past the end of the archive ({} bytes)",
                            data.len()
                        ))
                    })?;
                let range = (start as usize, end as usize);
                by_offset.insert(start, members.len());
                members.push(Member { name, range });
            }
            let mut index: Option<Vec<(String, u64)>> = None;
            if let Ok(Some(syms)) = ar.symbols() {
                let mut list = Vec::new();
                for s in syms {
                    let s = s.map_err(|e| bad(e.to_string()))?;
                    let member = ar.member(s.offset()).map_err(|e| bad(e.to_string()))?;
                    list.push((
                        String::from_utf8_lossy(s.name()).into_owned(),
                        member.file_range().0,
                    ));
                }
                index = Some(list);
            }
            let index = index.map(|list| {
                list.into_iter()
                    .filter_map(|(n, off)| by_offset.get(&off).map(|&i| (n, i)))
                    .collect::<Vec<_>>()
            });
            (members, index)
        };
        let mut archive = Archive {
            path: path.to_string(),
            data,
            parsed: (0..members.len()).map(|_| OnceLock::new()).collect(),
            members,
            symbols: HashMap::new(),
        };
        match index {
            Some(list) if !list.is_empty() || archive.members.is_empty() => {
                for (name, i) in list {
                    archive.symbols.insert(name, i);
                }
            }
            _ => archive.index_by_scanning()?,
        }
        // mpy_ld.py names members, not positions: a symbol maps to the first member of that name.
        let mut first_of: HashMap<&str, usize> = HashMap::new();
        for (i, m) in archive.members.iter().enumerate() {
            first_of.entry(m.name.as_str()).or_insert(i);
        }
        let remap: Vec<usize> = archive
            .members
            .iter()
            .map(|m| first_of[m.name.as_str()])
            .collect();
        for v in archive.symbols.values_mut() {
            *v = remap[*v];
        }
        Ok(archive)
    }

    /// Builds the symbol index by parsing every member (archives without an armap).
    fn index_by_scanning(&mut self) -> Result<()> {
        for i in 0..self.members.len() {
            let obj = match self.member_shared(i) {
                Ok(o) => o,
                Err(_) => continue,
            };
            for s in &obj.symbols {
                if s.is_global() && s.shndx != Shndx::Undef {
                    self.symbols.insert(s.name.clone(), i);
                }
            }
        }
        Ok(())
    }

    /// The bytes of member `i`.
    pub fn member_data(&self, i: usize) -> &[u8] {
        let (a, b) = self.members[i].range;
        &self.data[a..b]
    }

    /// The name mpy_ld.py gives member `i` in messages: `archive:member`.
    pub fn member_display_name(&self, i: usize) -> String {
        format!("{}:{}", self.path, self.members[i].name)
    }

    /// Parses member `i` as an ELF object.
    pub fn member_object(&self, i: usize) -> Result<ObjectFile> {
        ObjectFile::parse(&self.member_display_name(i), self.member_data(i))
    }

    /// Member `i` as an ELF object, parsed on first use and shared after that.
    pub fn member_shared(&self, i: usize) -> Result<Arc<ObjectFile>> {
        self.parsed[i]
            .get_or_init(|| self.member_object(i).map(Arc::new))
            .clone()
    }
}

/// Reads an `-l` input: an archive, or a GNU ld script whose `GROUP()` lists archives.
/// Returns the archives in order.
/// The input is named lossily when its path is not UTF-8; files its GROUP scripts name are
/// read as written.
pub fn load_lib(path: impl AsRef<std::path::Path>) -> Result<Vec<Archive>> {
    let name = path.as_ref().to_string_lossy();
    let data = std::fs::read(path.as_ref()).map_err(|e| LinkError::io(&name, &e))?;
    load_lib_bytes(&name, data)
}

/// Deepest chain of GROUP scripts naming GROUP scripts.
const MAX_GROUP_DEPTH: usize = 16;
/// Most files the GROUP scripts of one `-l` input may name in all, so that scripts that
/// fan out (each naming the next one several times) stay cheap.
const MAX_GROUP_FILES: usize = 256;

/// Like [`load_lib`], reading every file (the `-l` input and what its GROUP scripts name)
/// through `read`, so that a caller can watch them.
pub fn load_lib_with(
    path: &str,
    read: &mut dyn FnMut(&str) -> Result<Vec<u8>>,
) -> Result<Vec<Archive>> {
    let data = read(path)?;
    let mut walk = GroupWalk {
        read,
        chain: Vec::new(),
        named: 0,
    };
    walk.load(path, data)
}

/// Like [`load_lib`], for bytes already read.
pub fn load_lib_bytes(path: &str, data: Vec<u8>) -> Result<Vec<Archive>> {
    let mut read = |p: &str| std::fs::read(p).map_err(|e| LinkError::io(p, &e));
    let mut walk = GroupWalk {
        read: &mut read,
        chain: Vec::new(),
        named: 0,
    };
    walk.load(path, data)
}

/// A walk through GROUP scripts: the scripts open above the current one, and how many
/// files they named so far.
struct GroupWalk<'a> {
    read: &'a mut dyn FnMut(&str) -> Result<Vec<u8>>,
    chain: Vec<String>,
    named: usize,
}

/// Whether two paths name the same file as written (`./a.ld` and `a.ld` do).
fn same_path(a: &str, b: &str) -> bool {
    let norm = |p: &str| -> Vec<String> {
        std::path::Path::new(p)
            .components()
            .filter(|c| !matches!(c, std::path::Component::CurDir))
            .map(|c| c.as_os_str().to_string_lossy().into_owned())
            .collect()
    };
    norm(a) == norm(b)
}

impl GroupWalk<'_> {
    fn load(&mut self, path: &str, data: Vec<u8>) -> Result<Vec<Archive>> {
        if data.starts_with(b"!<arch>\n") {
            return Ok(vec![Archive::parse(path, data)?]);
        }
        let refuse = |what: String| {
            Err(LinkError::new(ErrorKind::BadArchive, format!("{path}: {what}")).object(path))
        };
        if self.chain.len() >= MAX_GROUP_DEPTH {
            return refuse(format!(
                "GROUP scripts nest more than {MAX_GROUP_DEPTH} deep: {}",
                self.chain.join(" -> ")
            ));
        }
        let text = String::from_utf8_lossy(&data);
        let files = match parse_group_script(&text) {
            Ok(f) => f,
            Err(why) => {
                return refuse(format!(
                    "neither an archive (!<arch>) nor a GNU ld GROUP script: {why}"
                ))
            }
        };
        self.chain.push(path.to_string());
        let mut out = Vec::new();
        for f in files {
            if let Some(i) = self.chain.iter().position(|c| same_path(c, &f)) {
                let cycle = self.chain[i..].join(" -> ");
                return refuse(format!(
                    "GROUP scripts name each other in a loop: {cycle} -> {f}"
                ));
            }
            self.named += 1;
            if self.named > MAX_GROUP_FILES {
                return refuse(format!(
                    "GROUP scripts name more than {MAX_GROUP_FILES} files in all"
                ));
            }
            let d = (self.read)(&f)?;
            out.extend(self.load(&f, d)?);
        }
        self.chain.pop();
        Ok(out)
    }
}

/// Extracts the file list of a GNU ld script made only of `GROUP(...)` and `OUTPUT_FORMAT(...)`
/// commands (and comments), as mpy_ld.py accepts them.
pub fn parse_group_script(text: &str) -> std::result::Result<Vec<String>, String> {
    // Remove /* ... */ comments.
    let mut s = String::with_capacity(text.len());
    let mut rest = text;
    while let Some(i) = rest.find("/*") {
        s.push_str(&rest[..i]);
        match rest[i + 2..].find("*/") {
            Some(j) => rest = &rest[i + 2 + j + 2..],
            None => {
                // An unterminated comment is left as text (and then rejected).
                s.push_str(&rest[i..]);
                rest = "";
            }
        }
    }
    s.push_str(rest);
    let mut files = Vec::new();
    let mut leftover = String::new();
    let mut cur = s.trim();
    while !cur.is_empty() {
        let word_end = cur
            .find(|c: char| c == '(' || c.is_whitespace())
            .unwrap_or(cur.len());
        let word = &cur[..word_end];
        let after = cur[word_end..].trim_start();
        if (word == "GROUP" || word == "OUTPUT_FORMAT") && after.starts_with('(') {
            let close = match after.find(')') {
                Some(c) => c,
                None => return Err(format!("unclosed {word}(")),
            };
            let inner = &after[1..close];
            if inner.trim().is_empty() {
                return Err(format!("empty {word}()"));
            }
            if word == "GROUP" {
                files.extend(
                    inner
                        .split(|c: char| c == ',' || c.is_whitespace())
                        .filter(|f| !f.is_empty())
                        .map(String::from),
                );
            }
            cur = after[close + 1..].trim_start();
        } else {
            leftover.push_str(cur);
            break;
        }
    }
    if !leftover.trim().is_empty() {
        let mut shown: String = leftover.trim().chars().take(60).collect();
        if leftover.trim().chars().count() > 60 {
            shown.push('…');
        }
        return Err(format!("unrecognised text {shown:?}"));
    }
    if files.is_empty() {
        return Err("no GROUP(...) found".into());
    }
    Ok(files)
}
