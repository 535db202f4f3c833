// containerlab runs each `exec` entry without a shell: it splits the string into words the way a
// POSIX shell would (single quotes literal, double quotes with backslash escapes) and execs argv[0].
// We do the same so `exec` steps behave identically (no globbing, no pipes unless `sh -c` is used).
import { LabError, LabErrorCode } from './errors.js';

export function splitWords(line: string): string[] {
  const words: string[] = [];
  let cur = '';
  let inWord = false;
  for (let i = 0; i < line.length; i++) {
    const c = line[i]!;
    if (c === "'") {
      const end = line.indexOf("'", i + 1);
      if (end < 0) throw new LabError(LabErrorCode.BadTopology, `unterminated ' in: ${line}`);
      cur += line.slice(i + 1, end);
      inWord = true;
      i = end;
    } else if (c === '"') {
      let j = i + 1;
      for (; j < line.length && line[j] !== '"'; j++) {
        if (line[j] === '\\' && j + 1 < line.length && '"\\$`'.includes(line[j + 1]!)) j++;
        cur += line[j];
      }
      if (j >= line.length) throw new LabError(LabErrorCode.BadTopology, `unterminated " in: ${line}`);
      inWord = true;
      i = j;
    } else if (c === '\\' && i + 1 < line.length) {
      cur += line[++i];
      inWord = true;
    } else if (/\s/.test(c)) {
      if (inWord) words.push(cur);
      cur = '';
      inWord = false;
    } else {
      cur += c;
      inWord = true;
    }
  }
  if (inWord) words.push(cur);
  return words;
}
