/* Chart label wrapping shared by the county charts: long target titles (English especially) would be
   cut off beside the bars on a phone, so they are split into lines of at most 24 characters
   (at spaces, or every 9 characters for text without spaces such as Chinese). */
window.wrapChartLabel = function (label) {
  var words = /\s/.test(label) ? label.split(/\s+/) : label.match(/.{1,9}/g) || [label];
  var glue = /\s/.test(label) ? " " : "", lines = [], line = "";
  words.forEach(function (w) {
    if (line && (line + glue + w).length > 24) { lines.push(line); line = w; } else { line = line ? line + glue + w : w; }
  });
  if (line) lines.push(line);
  return lines;
};
