/* Checkout page: show address or pick-up fields; order page: pay with Stripe.js (card element +
   confirmCardPayment; Alipay / WeChat Pay when enabled). The webhook is the source of truth: after
   paying we only ask the server to refresh the status. */
(function () {
  "use strict";

  var checkout = document.getElementById("checkout-form");
  if (checkout) {
    var sync = function () {
      var chosen = checkout.querySelector("input[name=delivery]:checked");
      var pickup = chosen && chosen.value === "pickup";
      checkout.querySelectorAll(".ship-only").forEach(function (el) { el.hidden = pickup; });
      checkout.querySelectorAll(".pickup-only").forEach(function (el) { el.hidden = !pickup; });
      /* a saved address chosen: the new address's fields are hidden and disabled (not sent), so nothing is
         typed there for nothing; 新地址 shows them (the server refuses a saved address chosen with a new one
         typed: orders.services.addresses.checkout_address) */
      var saved = checkout.querySelector("select[name=address_id]");
      var fresh = checkout.querySelector(".new-address");
      if (saved && fresh) {
        var useSaved = saved.value !== "" && saved.value !== "0";
        fresh.hidden = useSaved;
        fresh.querySelectorAll("input, select, textarea").forEach(function (el) { el.disabled = useSaved; });
      }
      /* the chosen pick-up station's address, hours and phone (all are listed without JS) */
      var station = checkout.querySelector("select[name=pickup_station_id]");
      checkout.querySelectorAll("[data-station]").forEach(function (el) {
        el.hidden = !station || el.getAttribute("data-station") !== station.value;
      });
      /* a payment the delivery does not allow (货到付款 for a pick-up, 到站点付款 for home delivery) is
         hidden with it: if it was the one chosen, the delivery's own is chosen instead */
      var paid = checkout.querySelector("input[name=payment_method]:checked");
      if (paid && paid.closest("[hidden]")) {
        var own = checkout.querySelector("input[name=payment_method][value='" +
          checkout.getAttribute(pickup ? "data-pay-pickup" : "data-pay-ship") + "']");
        var first = checkout.querySelector("label:not([hidden]) > input[name=payment_method]");
        var instead = own && !own.closest("[hidden]") ? own : first;
        if (instead) { instead.checked = true; }
      }
    };
    /* the payment follows the delivery (到站点付款 for a pick-up, not for home delivery) until the
       buyer picks a payment themselves */
    var paymentPicked = false;
    var followDelivery = function (event) {
      if (event && event.target && event.target.name === "payment_method") { paymentPicked = true; return; }
      if (paymentPicked || !(event && event.target && event.target.name === "delivery")) { return; }
      var pickup = event.target.value === "pickup";
      var wanted = checkout.getAttribute(pickup ? "data-pay-pickup" : "data-pay-ship");
      var radio = checkout.querySelector("input[name=payment_method][value='" + wanted + "']");
      if (radio) { radio.checked = true; }
    };
    checkout.addEventListener("change", followDelivery);
    checkout.addEventListener("change", sync);
    sync();
    checkout.addEventListener("submit", function () {
      var button = checkout.querySelector("button[type=submit]");
      if (button) { button.disabled = true; }
    });
  }

  var form = document.getElementById("payment-form");
  if (!form || typeof Stripe !== "function") { return; }
  var stripe = Stripe(form.dataset.publishableKey);
  var elements = stripe.elements();
  var card = elements.create("card");
  card.mount("#card-element");
  var button = document.getElementById("pay-button");
  var message = document.getElementById("payment-message");
  var secret = form.dataset.clientSecret;

  function busy(on) {
    form.querySelectorAll("button").forEach(function (b) { b.disabled = on; });
    if (on) { button.dataset.label = button.textContent; button.textContent = button.dataset.busyLabel || "…"; }
    else if (button.dataset.label) { button.textContent = button.dataset.label; }
  }

  /* A failure is shown and the button comes back: retrying is safe (the server re-uses the
     payment's idempotency keys, and a PaymentIntent is charged at most once). */
  function done(result) {
    if (result && result.error) {
      message.textContent = result.error.message || form.dataset.errorLabel || "支付失败";
      busy(false);
      return;
    }
    var post = document.createElement("form");
    post.method = "post";
    post.action = form.dataset.doneUrl;
    var token = form.querySelector("input[name=csrf_token]");
    if (token) { post.appendChild(token.cloneNode()); }
    document.body.appendChild(post);
    post.submit();
  }

  /* Card: Stripe.js tokenises the card element; the server attaches it and confirms the
     PaymentIntent; if the bank asks for 3-D Secure, confirmCardPayment drives it (this is the
     flow the localstripe emulator's Stripe.js supports too, so the tested flow is the real one). */
  function payByCard() {
    return stripe.createToken(card).then(function (result) {
      if (result.error) { return { error: result.error }; }
      var body = new FormData();
      body.append("token", result.token.id);
      body.append("card", result.token.card ? result.token.card.id : "");
      var token = form.querySelector("input[name=csrf_token]");
      if (token) { body.append("csrf_token", token.value); }
      return fetch(form.dataset.cardUrl, {
        method: "POST", body: body, credentials: "same-origin",
        headers: { "X-CSRFToken": token ? token.value : "" }
      }).then(function (response) {
        return response.json().catch(function () { return {}; }).then(function (data) {
          if (!response.ok || data.error) {
            var fallback = response.status >= 500 ? form.dataset.networkErrorLabel : form.dataset.errorLabel;
            return { error: { message: (data.error && data.error.message) || fallback || "支付失败" } };
          }
          if (data.status === "requires_action") {
            return stripe.confirmCardPayment(data.client_secret || secret);
          }
          return { paymentIntent: { status: data.status } };
        });
      });
    });
  }

  form.addEventListener("submit", function (ev) {
    ev.preventDefault();
    if (button.disabled) { return; }
    busy(true);
    message.textContent = "";
    payByCard().then(done, function () {  /* the request never got an answer (network, timeout) */
      done({ error: { message: form.dataset.networkErrorLabel } });
    });
  });

  form.querySelectorAll("button[data-method]").forEach(function (b) {
    b.addEventListener("click", function () {
      busy(true);
      var back = window.location.href;
      var call = b.dataset.method === "alipay"
        ? stripe.confirmAlipayPayment(secret, { return_url: back })
        : stripe.confirmWechatPayPayment(secret, { payment_method_options: { wechat_pay: { client: "web" } } });
      call.then(done, function (err) { done({ error: err }); });
    });
  });
})();
