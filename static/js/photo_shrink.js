/* Photos made smaller on the phone before they are sent (docs/uploads.md, "Shrinking on the phone").

   A file input carrying data-photo-limit (catalog's photo_input_attrs / paper_input_attrs: reviews, products,
   listings, food-safety papers) is watched: a chosen image larger than the long edge the server keeps anyway
   (data-photo-shrink="always", photos: 1200 px), or only when over the file limit or the pixel budget
   (data-photo-shrink="over-limit", papers), is decoded with its EXIF orientation applied, drawn scaled down on a
   canvas (white under any transparency, as the server does) and encoded as a JPEG, which replaces the chosen file
   in the input (DataTransfer): a camera's 10 MB photo goes up as a few hundred KB.

   A file still over the limit (a PDF, a file the browser cannot decode), or files adding up to more than the
   whole request may carry, gets a message beside the field and the form is not sent, instead of the server's
   413 page. A form sent while photos are still being shrunk waits for them. Without this script, or in a
   browser without canvas or DataTransfer, the form sends what was chosen and the server refuses as it always
   does: its checks stay the rule. */
(function () {
  "use strict";
  var SELECTOR = "input[type=file][data-photo-limit]";
  var jobs = typeof WeakMap === "function" ? new WeakMap() : null;
  var canReplace = (function () {
    try {
      return !!jobs && typeof File === "function" && typeof Promise === "function" && !!new DataTransfer().items;
    } catch (e) {
      return false;
    }
  })();
  var canDraw = !!(document.createElement("canvas").toBlob && window.URL && URL.createObjectURL);
  if (!jobs) return;

  function settings(input) {
    return {
      limit: Number(input.getAttribute("data-photo-limit")),
      edge: Number(input.getAttribute("data-photo-edge")),
      always: input.getAttribute("data-photo-shrink") === "always",
      pixels: Number(input.getAttribute("data-photo-pixels")),
      quality: Number(input.getAttribute("data-photo-quality")) || 0.85,
      requestLimit: Number(input.getAttribute("data-photo-request-limit"))
    };
  }

  function isImage(file) {
    return /^image\//.test(file.type || "");
  }

  function size(bytes) {
    if (bytes < 1024 * 1024) return Math.max(1, Math.round(bytes / 1024)) + " KB";
    return (bytes / (1024 * 1024)).toFixed(1) + " MB";
  }

  function total(files) {
    var sum = 0;
    for (var i = 0; i < files.length; i++) sum += files[i].size;
    return sum;
  }

  /* The picture with its EXIF orientation applied: createImageBitmap's imageOrientation "from-image", else an
     <img>, which modern browsers draw upright too (image-orientation: from-image is their default). */
  function viaImg(file) {
    return new Promise(function (resolve, reject) {
      var url = URL.createObjectURL(file);
      var img = new Image();
      img.onload = function () {
        resolve({
          source: img,
          width: img.naturalWidth,
          height: img.naturalHeight,
          done: function () {
            URL.revokeObjectURL(url);
          }
        });
      };
      img.onerror = function () {
        URL.revokeObjectURL(url);
        reject(new Error("not an image"));
      };
      img.src = url;
    });
  }

  function decode(file) {
    if (typeof window.createImageBitmap !== "function") return viaImg(file);
    return window.createImageBitmap(file, { imageOrientation: "from-image" }).then(
      function (bitmap) {
        return {
          source: bitmap,
          width: bitmap.width,
          height: bitmap.height,
          done: function () {
            if (bitmap.close) bitmap.close();
          }
        };
      },
      function (error) {
        if (error && error.name === "InvalidStateError") throw error; /* the bytes are no picture */
        return viaImg(file); /* an older browser refusing the options */
      }
    );
  }

  function jpegName(name) {
    return (name || "photo").replace(/\.[^./\\]*$/, "") + ".jpg";
  }

  /* A smaller JPEG of `file`, or null when it should go up as chosen. */
  function shrink(file, o) {
    return decode(file).then(function (picture) {
      var w = picture.width;
      var h = picture.height;
      var longest = Math.max(w, h);
      var overPixels = w * h > o.pixels;
      var needed = file.size > o.limit || (o.always ? longest > o.edge : overPixels);
      if (!needed || !w || !h) {
        picture.done();
        return null;
      }
      var scale = Math.min(1, o.edge / longest);
      var canvas = document.createElement("canvas");
      canvas.width = Math.max(1, Math.round(w * scale));
      canvas.height = Math.max(1, Math.round(h * scale));
      var context = canvas.getContext("2d");
      context.fillStyle = "#fff";
      context.fillRect(0, 0, canvas.width, canvas.height);
      context.imageSmoothingEnabled = true;
      context.imageSmoothingQuality = "high";
      context.drawImage(picture.source, 0, 0, canvas.width, canvas.height);
      picture.done();
      return new Promise(function (resolve) {
        canvas.toBlob(resolve, "image/jpeg", o.quality);
      }).then(function (blob) {
        canvas.width = 0;
        canvas.height = 0;
        if (!blob) return null;
        if (blob.size >= file.size && file.size <= o.limit && !overPixels) return null;
        return new File([blob], jpegName(file.name), { type: "image/jpeg", lastModified: file.lastModified });
      });
    });
  }

  /* The line beside the field: a message (role alert, the field marked invalid) or a status. */
  function note(input, text, kind) {
    var id = (input.id || input.name) + "-photo-note";
    var line = document.getElementById(id);
    if (!text) {
      if (line) line.parentNode.removeChild(line);
      invalid(input, false);
      return;
    }
    if (!line) {
      line = document.createElement("p");
      line.id = id;
      input.parentNode.insertBefore(line, input.nextSibling);
      var described = (input.getAttribute("aria-describedby") || "").split(/\s+/);
      if (described.indexOf(id) < 0) input.setAttribute("aria-describedby", (described.join(" ") + " " + id).trim());
    }
    line.className = kind === "error" ? "error" : "hint";
    line.setAttribute("role", kind === "error" ? "alert" : "status");
    line.textContent = text;
    invalid(input, kind === "error");
  }

  function invalid(input, yes) {
    if (yes) input.setAttribute("aria-invalid", "true");
    else input.removeAttribute("aria-invalid");
    var field = input.parentNode;
    if (field.classList && field.classList.contains("field") && !field.querySelector("p.error:not([id$='-photo-note'])"))
      field.classList.toggle("has-error", yes); /* the field's red border; kept while the server's message is shown */
  }

  /* Whether the input's files may be sent; says why not beside it (or that they were shrunk). */
  function judge(input, shrunk) {
    var o = settings(input);
    var files = input.files || [];
    var tooLarge = [];
    for (var i = 0; i < files.length; i++) if (files[i].size > o.limit) tooLarge.push(files[i].name);
    if (tooLarge.length) {
      var text = input.getAttribute("data-photo-too-large");
      if (files.length > 1) text += " " + tooLarge.join(", ");
      note(input, text, "error");
      return false;
    }
    var sent = 0;
    var others = input.form ? input.form.querySelectorAll("input[type=file]") : [input];
    for (var j = 0; j < others.length; j++) sent += total(others[j].files || []);
    if (sent > o.requestLimit) {
      note(input, input.getAttribute("data-photo-request-too-large"), "error");
      return false;
    }
    var line = document.getElementById((input.id || input.name) + "-photo-note");
    if (shrunk) {
      var sizes = size(shrunk.before) + " → " + size(shrunk.after);
      note(input, input.getAttribute("data-photo-shrunk") + " " + sizes, "status");
    } else if (shrunk === null || (line && line.className === "error")) {
      note(input, "");
    }
    return true;
  }

  function prepare(input) {
    var chosen = Array.prototype.slice.call(input.files || []);
    var o = settings(input);
    note(input, "");
    if (!chosen.length || !canReplace || !canDraw || !chosen.some(isImage)) {
      jobs.delete(input);
      if (chosen.length) judge(input);
      return;
    }
    note(input, input.getAttribute("data-photo-working"), "status");
    var job = chosen
      .reduce(function (chain, file) {
        return chain.then(function (out) {
          if (!isImage(file)) return out.concat([file]);
          return shrink(file, o).then(
            function (small) {
              return out.concat([small || file]);
            },
            function () {
              return out.concat([file]); /* not decodable here: sent as chosen, the server judges it */
            }
          );
        });
      }, Promise.resolve([]))
      .then(function (out) {
        if (jobs.get(input) !== job) return; /* chosen again meanwhile */
        var changed = out.some(function (file, i) {
          return file !== chosen[i];
        });
        if (changed) {
          var transfer = new DataTransfer();
          out.forEach(function (file) {
            transfer.items.add(file);
          });
          input.files = transfer.files;
        }
        jobs.delete(input);
        judge(input, changed ? { before: total(chosen), after: total(out) } : null);
      });
    jobs.set(input, job);
  }

  document.addEventListener("change", function (event) {
    var input = event.target;
    if (input.matches && input.matches(SELECTOR)) prepare(input);
  });

  /* Before anything else hears of the submission (busy.js's data-busy and data-submit-once listen on the
     document too): wait for the shrinking, and keep a form whose files would be refused. */
  document.addEventListener(
    "submit",
    function (event) {
      var form = event.target;
      if (!form.querySelectorAll) return;
      var inputs = Array.prototype.slice.call(form.querySelectorAll(SELECTOR));
      if (!inputs.length) return;
      var pending = inputs
        .map(function (input) {
          return jobs.get(input);
        })
        .filter(Boolean);
      if (pending.length) {
        event.preventDefault();
        event.stopImmediatePropagation();
        var submitter = event.submitter;
        Promise.all(pending).then(function () {
          if (typeof form.requestSubmit === "function") form.requestSubmit(submitter && submitter.form === form ? submitter : undefined);
          else form.submit();
        });
        return;
      }
      var refused = inputs.filter(function (input) {
        return !judge(input);
      });
      if (refused.length) {
        event.preventDefault();
        event.stopImmediatePropagation();
        refused[0].focus();
      }
    },
    true
  );
})();
