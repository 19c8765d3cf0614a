// Prints, as JSON lines, the QR matrices the dashboard's encoder makes for the texts given as JSON on stdin:
// [{"text": "...", "mask": 3 | null}, ...] → {"version", "mask", "rows": ["0101...", ...]} per text.
import { encodeQr } from "../../clients/web/src/qr.js";

let input = "";
for await (const chunk of process.stdin) input += chunk;
for (const { text, mask } of JSON.parse(input)) {
  const code = encodeQr(text, mask === null ? {} : { mask });
  const rows = code.modules.map((row) => row.map((dark) => (dark ? "1" : "0")).join(""));
  console.log(JSON.stringify({ version: code.version, mask: code.mask, rows }));
}
