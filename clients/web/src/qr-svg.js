// Draws a QR code (src/qr.js) as an SVG element: one path of dark modules with the 4-module quiet zone the
// standard asks for, crisp at any zoom.

import { encodeQr } from "./qr.js";

const SVG = "http://www.w3.org/2000/svg";
const QUIET_ZONE = 4;

/** An SVG element showing the QR code of `text`. */
export function qrSvg(text) {
  const code = encodeQr(text);
  const extent = code.size + 2 * QUIET_ZONE;
  const svg = document.createElementNS(SVG, "svg");
  svg.setAttribute("viewBox", `0 0 ${extent} ${extent}`);
  svg.setAttribute("shape-rendering", "crispEdges");
  svg.setAttribute("aria-hidden", "true");
  svg.setAttribute("data-version", String(code.version));
  const background = document.createElementNS(SVG, "rect");
  background.setAttribute("width", String(extent));
  background.setAttribute("height", String(extent));
  background.setAttribute("fill", "#ffffff");
  const commands = [];
  code.modules.forEach((row, y) => {
    row.forEach((dark, x) => {
      if (dark) commands.push(`M${x + QUIET_ZONE} ${y + QUIET_ZONE}h1v1h-1z`);
    });
  });
  const modules = document.createElementNS(SVG, "path");
  modules.setAttribute("d", commands.join(""));
  modules.setAttribute("fill", "#000000");
  svg.append(background, modules);
  return svg;
}
