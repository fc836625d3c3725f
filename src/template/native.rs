//! Ansible's native rendering of templates with text around statements: when the output of a
//! template is exactly one `{{ }}` value (statements such as `{% set %}` print nothing), the
//! result is that value itself, not its text (`"{% set x = 1 %}{{ [x] }}"` gives a list).
//!
//! The formatter records the values it prints in the innermost capture frame of this thread.
//!
//! A macro (or a `{% set %}` block) whose body is one `{{ }}` value returns that value in Jinja's
//! native mode, as Ansible 2.19 renders (`{% macro m() %}{{ {"a": 1} }}{% endmacro %}{{ m() }}`
//! is a dict). minijinja's macros return their text, so the value printed inside the macro is
//! recorded first, then its text printed outside it: a later print that is exactly the first
//! value's text echoes it, and does not count as another value.

use std::cell::RefCell;

use minijinja::value::Value;

/// What one render printed through the formatter.
#[derive(Default)]
struct Frame {
    count: usize,
    first: Option<Value>,
    /// Every value printed after the first was the first one's text (a macro's result).
    echoes: bool,
}

thread_local! {
    static FRAMES: RefCell<Vec<Frame>> = const { RefCell::new(Vec::new()) };
}

/// Records printed values for as long as it lives.
pub(crate) struct Capture {
    depth: usize,
}

impl Capture {
    /// Starts recording the values printed by a render that begins now.
    pub(crate) fn start() -> Capture {
        let depth = FRAMES.with(|f| {
            let mut frames = f.borrow_mut();
            frames.push(Frame::default());
            frames.len()
        });
        Capture { depth }
    }

    /// How many values were printed (a macro's text echoing the value printed in it counts
    /// once), and the first of them.
    pub(crate) fn printed(&self) -> (usize, Option<Value>) {
        FRAMES.with(|f| {
            let frames = f.borrow();
            match frames.get(self.depth - 1) {
                Some(frame) if frame.count > 1 && frame.echoes => (1, frame.first.clone()),
                Some(frame) => (frame.count, frame.first.clone()),
                None => (0, None),
            }
        })
    }
}

impl Drop for Capture {
    fn drop(&mut self) {
        FRAMES.with(|f| f.borrow_mut().truncate(self.depth - 1));
    }
}

/// Called by the formatter for every value printed.
pub(crate) fn record(value: &Value) {
    FRAMES.with(|f| {
        if let Some(frame) = f.borrow_mut().last_mut() {
            frame.count += 1;
            if frame.count == 1 {
                frame.first = Some(value.clone());
                frame.echoes = true;
            } else if frame.echoes {
                frame.echoes = value
                    .as_str()
                    .is_some_and(|s| frame.first.as_ref().is_some_and(|first| super::pyfmt::to_display(first) == s));
            }
        }
    });
}
