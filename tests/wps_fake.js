/*
 * A small fake of the WPS spreadsheet object model (window.Application) for
 * tests/test_wps_browser.py: only the members xlz/web/wps/xlz-wps.js uses (listed at the
 * top of that file), backed by the values of a real workbook (the JSON of
 * tests/xlz_books.wps_payload). It is not WPS: it cannot show that WPS really has these
 * members or behaves like this; docs/release-checklist.md says how a person with WPS
 * checks that.
 *
 * Every write is recorded in window.__fake.writes as {sheet, address, via, values};
 * protection calls in window.__fake.protection; alerts in window.__fake.alerts.
 *
 * installFake(payload, options): options.protected (sheet names protected with no
 * password), options.file (base64 of the saved file, enables wps.FileSystem).
 */
function installFake(payload, options) {
    "use strict";
    options = options || {};
    var fake = {writes: [], protection: [], alerts: [], opened: []};
    window.__fake = fake;
    window.alert = function (text) { fake.alerts.push(String(text)); };

    function Sheet(spec) {
        var self = this;
        this.Name = spec.name;
        this.ProtectContents = (options.protected || []).indexOf(spec.name) >= 0;
        this.ProtectDrawingObjects = this.ProtectContents;
        this.ProtectScenarios = this.ProtectContents;
        this.Protection = {AllowFormattingColumns: true, AllowFormattingRows: true,
                           AllowSorting: true, AllowFiltering: true};
        this.UsedRange = {Row: spec.row, Column: spec.col, Value2: spec.values};
        this.Unprotect = function (password) {
            fake.protection.push({sheet: self.Name, call: "Unprotect", args: [password]});
            self.ProtectContents = false;
        };
        this.Protect = function () {
            fake.protection.push({sheet: self.Name, call: "Protect",
                                  args: Array.prototype.slice.call(arguments)});
            self.ProtectContents = true;
        };
        this.Range = function (address) {
            function write(via, values) {
                if (self.ProtectContents) { throw new Error("locked: " + self.Name); }
                fake.writes.push({sheet: self.Name, address: address, via: via, values: values});
            }
            var range = {};
            Object.defineProperty(range, "Value2", {set: function (v) { write("Value2", v); }});
            Object.defineProperty(range, "Formula", {set: function (v) { write("Formula", v); }});
            return range;
        };
    }

    var sheets = payload.sheets.map(function (s) { return new Sheet(s); });
    var props = [];
    Object.keys(payload.properties || {}).forEach(function (k) {
        props.push({Name: k, Value: payload.properties[k]});
    });
    var path = payload.path;
    window.Application = {
        ActiveWorkbook: {
            Name: payload.name, FullName: path, Path: path.slice(0, path.lastIndexOf("\\")),
            Saved: true,
            Sheets: {Count: sheets.length, Item: function (key) {
                if (typeof key === "number") { return sheets[key - 1]; }
                for (var i = 0; i < sheets.length; i++) {
                    if (sheets[i].Name === key) { return sheets[i]; }
                }
                throw new Error("no sheet " + key);
            }},
            CustomDocumentProperties: {Count: props.length,
                                       Item: function (i) { return props[i - 1]; }}
        }
    };
    window.wps = {OAAssist: {ShellExecute: function (url) { fake.opened.push(url); }}};
    if (options.file) {
        window.wps.FileSystem = {readAsBinaryString: function (p) {
            if (p !== path) { throw new Error("no file " + p); }
            return window.atob(options.file);
        }};
    }
}
