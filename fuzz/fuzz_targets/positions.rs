#![no_main]
use libfuzzer_sys::fuzz_target;

// The language server's positions (src/source.rs `Lines`): any byte offset
// of any text, turned into a line and a UTF-16 or UTF-8 column and back,
// lands on the start of the character holding it; any line and column,
// even past the end, gives an offset at a character boundary in the text.
fuzz_target!(|data: &[u8]| {
    if data.len() < 8 {
        return;
    }
    let (head, rest) = data.split_at(8);
    let Ok(text) = std::str::from_utf8(rest) else {
        return;
    };
    let lines = mlpc::source::Lines::new(text);
    let offset = u32::from_le_bytes([head[0], head[1], head[2], head[3]]) as usize % (text.len() + 1);
    let start = (0..=offset).rev().find(|o| text.is_char_boundary(*o)).unwrap_or(0);
    let p16 = lines.utf16_position(offset);
    assert_eq!(lines.offset(p16.line, p16.character, true), start);
    let p8 = lines.utf8_position(offset);
    assert_eq!(lines.offset(p8.line, p8.character, false), start);
    let (line, column) = (u16::from_le_bytes([head[4], head[5]]), u16::from_le_bytes([head[6], head[7]]));
    for utf16 in [true, false] {
        let o = lines.offset(u32::from(line), u32::from(column), utf16);
        assert!(o <= text.len() && text.is_char_boundary(o));
    }
});
