// The group's time zone at the top of its schedule: named for everyone (weekly series run in it), and changed by
// administrators (PATCH /api/groups/{id} {"timezone"}) from the IANA names the browser knows, after an in-page
// confirmation, since every weekly series moves with it.
import { h, setAlert } from "../dom.js";
import { setGroupTimeZone } from "./api.js";
import { createConfirmStep } from "./confirm-step.js";
import { supportedTimeZones, timeThere, timeZoneBody, timeZoneChoices, zoneChangeQuestion } from "./timezones.js";

/** {el}; `onChanged(zone)` runs after the server took a new zone. */
export function createZoneControl({ groupId, timeZone, canChange, announce, onChanged }) {
  let zone = timeZone;
  const line = h("p", { id: "group-zone", tabindex: "-1" });
  const show = () => {
    const clock = timeThere(zone);
    line.replaceChildren("Time zone: ", h("strong", {}, zone), clock ? ` (${clock} there now)` : "",
      ". Weekly series run in this zone.");
  };
  show();
  const el = h("div", { class: "stack-tight group-zone" }, line);
  if (!canChange) {
    el.append(h("p", { class: "muted" }, "An administrator can change the group's time zone."));
    return { el };
  }

  const error = h("p", { class: "alert", role: "alert", id: "zone-error", hidden: true });
  const supported = supportedTimeZones();
  const control = supported
    ? h("select", { id: "zone-choice", name: "zone-choice" },
      timeZoneChoices(supported, zone).map((name) => h("option", { value: name, selected: name === zone }, name)))
    : h("input", { id: "zone-choice", name: "zone-choice", type: "text", value: zone, autocomplete: "off",
      spellcheck: "false", "aria-describedby": "zone-choice-hint" });
  const confirm = createConfirmStep({ id: "zone-confirm", onConfirm: send });
  const form = h("form", { class: "stack", id: "zone-form" },
    h("div", { class: "field" }, h("label", { for: "zone-choice" }, "New time zone"),
      h("p", { class: "muted hint", id: "zone-choice-hint" },
        supported ? "Type the first letters of a city to move through the list." : "An IANA name such as Europe/London."),
      control),
    h("div", { class: "row" }, h("button", { type: "submit", class: "button", id: "zone-save" }, "Change time zone")),
    confirm.el);
  el.append(error, h("details", { class: "form-box", id: "zone-editor" }, h("summary", {}, "Change the time zone"),
    form));

  let wanted = null;
  control.addEventListener("change", () => confirm.hide());
  form.addEventListener("submit", (event) => {
    event.preventDefault();
    setAlert(error, "");
    const built = timeZoneBody(control.value, zone);
    if (built.error) return setAlert(error, built.error);
    wanted = built.body.timezone;
    confirm.ask(zoneChangeQuestion(zone, wanted), `Yes, change to ${wanted}`, control);
  });

  async function send() {
    let group;
    try {
      group = await setGroupTimeZone(groupId, wanted);
    } catch (err) {
      confirm.hide();
      setAlert(error, err.message);
      control.focus();
      return;
    }
    confirm.hide();
    zone = typeof group?.timezone === "string" && group.timezone ? group.timezone : wanted;
    show();
    announce(`The group's time zone is now ${zone}.`);
    line.focus();
    onChanged(zone);
  }

  return { el };
}
