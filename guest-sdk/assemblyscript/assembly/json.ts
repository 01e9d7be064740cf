// @ts-nocheck: AssemblyScript, compiled by asc, not by tsc.
// The two JSON operations the SDK needs: quoting a string (for JSON responses) and reading a JSON string value
// (vars are JSON text). Not a JSON library.

const HEX = "0123456789abcdef";

/** `text` as a JSON string literal, quotes included (`he said "hi"` → `"he said \"hi\""`). */
export function jsonString(text: string): string {
  let out = "\"";
  let start = 0;
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    let esc: string | null = null;
    if (c == 34) esc = "\\\"";
    else if (c == 92) esc = "\\\\";
    else if (c == 10) esc = "\\n";
    else if (c == 13) esc = "\\r";
    else if (c == 9) esc = "\\t";
    else if (c < 32) esc = "\\u00" + HEX.charAt(c >> 4) + HEX.charAt(c & 15);
    if (esc == null) continue;
    out += text.substring(start, i) + esc;
    start = i + 1;
  }
  return out + text.substring(start) + "\"";
}

function hexDigit(c: i32): i32 {
  if (c >= 48 && c <= 57) return c - 48;
  if (c >= 97 && c <= 102) return c - 87;
  if (c >= 65 && c <= 70) return c - 55;
  return -1;
}

/** The value of a JSON text that is one string (whitespace around it allowed), or `null` when it is not one. */
export function parseJsonString(json: string): string | null {
  const text = json.trim();
  if (text.length < 2 || text.charCodeAt(0) != 34 || text.charCodeAt(text.length - 1) != 34) return null;
  let out = "";
  let start = 1;
  const end = text.length - 1;
  let i = 1;
  while (i < end) {
    const c = text.charCodeAt(i);
    if (c == 34 || c < 32) return null;
    if (c != 92) {
      i++;
      continue;
    }
    out += text.substring(start, i);
    if (i + 1 >= end) return null;
    const e = text.charCodeAt(i + 1);
    if (e == 117) {
      if (i + 6 > end) return null;
      let code = 0;
      for (let k = 2; k < 6; k++) {
        const d = hexDigit(text.charCodeAt(i + k));
        if (d < 0) return null;
        code = (code << 4) | d;
      }
      out += String.fromCharCode(code);
      i += 6;
    } else {
      if (e == 34) out += "\"";
      else if (e == 92) out += "\\";
      else if (e == 47) out += "/";
      else if (e == 98) out += "\b";
      else if (e == 102) out += "\f";
      else if (e == 110) out += "\n";
      else if (e == 114) out += "\r";
      else if (e == 116) out += "\t";
      else return null;
      i += 2;
    }
    start = i;
  }
  return out + text.substring(start, end);
}
