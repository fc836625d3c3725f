//! What the two-phase file modules (copy, template, file, lineinfile, blockinfile, replace) record
//! as a decision's `observed`: a path's state as named fields, the same for every module, so a saved
//! plan shows one shape of "before" and drift is a difference in one of these fields. Only what a
//! decision depends on: no times, inode or link count (see docs/architecture.md, "Decide, then
//! apply").

use serde_json::{Map, Value};

use crate::fileops::{FileType, StatInfo};
use crate::filewrite::mode_string;

/// A path's observed state: `path`, `type` (`file`, `directory`, `link`, `other` or `absent`),
/// `checksum` (SHA-1 of a regular file's content, `"absent"` when the path does not exist, null
/// when it was not read), `size` (regular files), `mode`, `owner`, `group` and `link_target`
/// (links, else null).
pub fn path_state(path: &str, stat: Option<&StatInfo>, sha1: Option<&str>) -> Map<String, Value> {
    let mut m = Map::new();
    m.insert("path".into(), path.into());
    let Some(st) = stat else {
        m.insert("type".into(), "absent".into());
        m.insert("checksum".into(), "absent".into());
        return m;
    };
    let kind = match st.file_type {
        FileType::File => "file",
        FileType::Directory => "directory",
        FileType::Link => "link",
        FileType::Other => "other",
    };
    m.insert("type".into(), kind.into());
    m.insert("checksum".into(), sha1.map_or(Value::Null, Value::from));
    if st.file_type == FileType::File {
        m.insert("size".into(), st.size.into());
    }
    m.insert("mode".into(), mode_string(st.mode).into());
    m.insert("owner".into(), st.owner.clone().into());
    m.insert("group".into(), st.group.clone().into());
    m.insert("link_target".into(), st.link_target.clone().map_or(Value::Null, Value::from));
    m
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn absent_and_present_paths() {
        let m = path_state("/x", None, None);
        assert_eq!(Value::Object(m), serde_json::json!({"path": "/x", "type": "absent", "checksum": "absent"}));
        let st = StatInfo {
            file_type: FileType::File,
            mode: 0o100644 & 0o7777,
            uid: 0,
            gid: 0,
            owner: "root".into(),
            group: "root".into(),
            size: 3,
            mtime: 1,
            atime: 2,
            nlink: 1,
            inode: 9,
            link_target: None,
        };
        let m = path_state("/x", Some(&st), Some("abc"));
        assert_eq!(
            Value::Object(m),
            serde_json::json!({"path": "/x", "type": "file", "checksum": "abc", "size": 3, "mode": "0644",
                               "owner": "root", "group": "root", "link_target": null})
        );
    }
}
