/*
 * 科技招商 WPS add-in (WPS 加载项): the buttons of the ribbon tab 科技招商.
 *
 * No rule lives here. The add-in only moves values: it reads every sheet of the open
 * workbook (one UsedRange.Value2 call per sheet), sends them as JSON to the portal that
 * served this file (POST /api/wps/<action>, the town's token from this page's own
 * address /wps/t/<token>/), and writes the blocks the server sends back (one Range
 * write per block). The server computes them with the same function as the Excel
 * add-in's Python (xlz.ops.live_edits), so the cells are those `xlz validate` and
 * `xlz fill` write into a file.
 *
 * Nothing is written unless the server answered with blocks: when it cannot be reached
 * the button says so and the workbook stays as it was.
 *
 * ES5 on purpose (no arrow functions, no fetch, no promises): WPS's embedded Chromium
 * differs between versions, and these few lines need nothing newer.
 *
 * The members of the WPS spreadsheet object model used here (and the only ones the
 * tests' fake implements, tests/wps_fake.js):
 *   Application.ActiveWorkbook: Name, FullName, Path, Saved, Sheets.Count,
 *     Sheets.Item(index or name), CustomDocumentProperties.Count / .Item(i).Name / .Value
 *   Worksheet: Name, UsedRange (Row, Column, Value2), Range(address) (Value2, Formula),
 *     ProtectContents, ProtectDrawingObjects, ProtectScenarios, Protection.Allow*,
 *     Unprotect(password), Protect(password, drawing, contents, scenarios, uiOnly, allow...)
 *   wps.FileSystem.readAsBinaryString(path) (optional: 提交市里 reads the saved file)
 *   wps.OAAssist.ShellExecute(url) (optional: opens the town's page in the browser)
 */
var XlzWps = (function () {
    "use strict";

    var TITLE = "科技招商";
    var UNREACHABLE = "连接不上市里的服务器，未作任何修改。请检查网络后重试；" +
        "离线时表格里自带的检查照常工作。仍不行请联系市科技局。";
    var BUTTONS = {
        xlzWpsValidate: "validate",
        xlzWpsFill: "fill",
        xlzWpsClear: "clear",
        xlzWpsSubmit: "submit",
        xlzWpsAbout: "about"
    };
    var IMAGES = {
        xlzWpsValidate: "images/validate.png",
        xlzWpsFill: "images/fill.png",
        xlzWpsClear: "images/clear.png",
        xlzWpsSubmit: "images/submit.png",
        xlzWpsAbout: "images/about.png"
    };
    var ALLOW = ["AllowFormattingCells", "AllowFormattingColumns", "AllowFormattingRows",
        "AllowInsertingColumns", "AllowInsertingRows", "AllowInsertingHyperlinks",
        "AllowDeletingColumns", "AllowDeletingRows", "AllowSorting", "AllowFiltering",
        "AllowUsingPivotTables"];

    // The page lives at /wps/t/<token>/index.html: the token says which town we speak for.
    function token() {
        var m = /\/wps\/t\/([^\/]+)\//.exec(window.location.pathname);
        return m ? decodeURIComponent(m[1]) : "";
    }

    function say(text) {
        window.alert(text);
    }

    function book() {
        var app = window.Application;
        return app ? app.ActiveWorkbook : null;
    }

    // Value2 of one cell is a scalar, of a row a list: always hand the server a grid.
    function grid(value) {
        if (value instanceof Array) {
            return value.length && value[0] instanceof Array ? value : [value];
        }
        return [[value === undefined ? null : value]];
    }

    function properties(wb) {
        try {
            var props = wb.CustomDocumentProperties;
            var found = {};
            for (var i = 1; i <= props.Count; i++) {
                var p = props.Item(i);
                if (String(p.Name).indexOf("xlz.") === 0) {
                    found[String(p.Name)] = p.Value === null || p.Value === undefined ? "" : String(p.Value);
                }
            }
            return found;
        } catch (e) {
            return null; // the identity then rests on the _xlz sheet alone
        }
    }

    function readBook(wb) {
        var sheets = [];
        for (var i = 1; i <= wb.Sheets.Count; i++) {
            var ws = wb.Sheets.Item(i);
            var used = ws.UsedRange;
            sheets.push({name: ws.Name, row: used.Row, col: used.Column, values: grid(used.Value2)});
        }
        return {name: wb.Name, path: wb.FullName, properties: properties(wb), sheets: sheets};
    }

    // One request; done(status, json) with status 0 when the server cannot be reached.
    function send(method, url, body, contentType, done) {
        var xhr = new XMLHttpRequest();
        xhr.open(method, url, true);
        xhr.timeout = 120000;
        xhr.setRequestHeader("Authorization", "Bearer " + token());
        if (contentType) {
            xhr.setRequestHeader("Content-Type", contentType);
        }
        var finished = false;
        function finish(status, text) {
            if (finished) { return; }
            finished = true;
            var json = null;
            try { json = text ? JSON.parse(text) : null; } catch (e) { json = null; }
            done(status, json);
        }
        xhr.onload = function () { finish(xhr.status, xhr.responseText); };
        xhr.onerror = function () { finish(0, ""); };
        xhr.ontimeout = function () { finish(0, ""); };
        try {
            xhr.send(body);
        } catch (e) {
            finish(0, "");
        }
    }

    // Templates protect their sheets with no password: lift it for the write, then put
    // the same protection back (as the Excel add-in's 清除标记 does in VBA).
    function unprotect(ws) {
        if (!ws.ProtectContents) { return null; }
        var saved = {drawing: ws.ProtectDrawingObjects, contents: ws.ProtectContents,
                     scenarios: ws.ProtectScenarios, allow: []};
        for (var i = 0; i < ALLOW.length; i++) {
            var value = false;
            try { value = !!ws.Protection[ALLOW[i]]; } catch (e) { value = false; }
            saved.allow.push(value);
        }
        ws.Unprotect("");
        return saved;
    }

    function reprotect(ws, saved) {
        if (!saved) { return; }
        var a = saved.allow;
        ws.Protect("", saved.drawing, saved.contents, saved.scenarios, true,
            a[0], a[1], a[2], a[3], a[4], a[5], a[6], a[7], a[8], a[9], a[10]);
    }

    // A cleared cell is written as "" (a null inside an array is not reliably "empty").
    function cellValues(values) {
        var out = [];
        for (var i = 0; i < values.length; i++) {
            var row = [];
            for (var j = 0; j < values[i].length; j++) {
                var v = values[i][j];
                row.push(v === null || v === undefined ? "" : v);
            }
            out.push(row);
        }
        return out;
    }

    // Every target sheet is unlocked first: if one has a password nothing is written.
    function writeBlocks(wb, blocks) {
        var sheets = {};
        var order = [];
        var failed = null;
        for (var i = 0; i < blocks.length && failed === null; i++) {
            var name = blocks[i].sheet;
            if (sheets.hasOwnProperty(name)) { continue; }
            var ws = wb.Sheets.Item(name);
            try {
                sheets[name] = {ws: ws, saved: unprotect(ws)};
                order.push(name);
            } catch (e) {
                failed = name;
            }
        }
        if (failed === null) {
            for (var k = 0; k < blocks.length; k++) {
                var block = blocks[k];
                var target = sheets[block.sheet].ws.Range(block.address);
                if (block.formulas) {
                    target.Formula = cellValues(block.values);
                } else {
                    target.Value2 = cellValues(block.values);
                }
            }
        }
        for (var n = 0; n < order.length; n++) {
            reprotect(sheets[order[n]].ws, sheets[order[n]].saved);
        }
        if (failed !== null) {
            throw new Error("工作表“" + failed + "”设置了保护密码，请先撤销工作表保护再试。未作任何修改。");
        }
    }

    function run(action) {
        var wb = book();
        if (!wb) {
            say("请先打开本镇区的填报表，再点这个按钮。");
            return;
        }
        var payload;
        try {
            payload = JSON.stringify(readBook(wb));
        } catch (e) {
            say("读取当前工作簿没有成功，未作任何修改：" + e.message);
            return;
        }
        send("POST", "/api/wps/" + action, payload, "application/json", function (status, json) {
            if (status === 0) {
                say(UNREACHABLE);
                return;
            }
            if (status !== 200 || !json || !(json.blocks instanceof Array)) {
                say((json && json.message) || ("服务器没有完成（" + status + "），未作任何修改。"));
                return;
            }
            try {
                writeBlocks(wb, json.blocks);
            } catch (e) {
                say(e.message);
                return;
            }
            say(json.message);
        });
    }

    function submitFallback(wb) {
        var page = window.location.protocol + "//" + window.location.host + "/t/" + encodeURIComponent(token());
        try {
            if (window.wps && wps.OAAssist && wps.OAAssist.ShellExecute) {
                wps.OAAssist.ShellExecute(page);
            } else {
                window.open(page);
            }
        } catch (e) { /* the address is in the message below */ }
        say("这台电脑上的 WPS 不能直接读取文件，请在打开的网页上点“选择文件”，选择\n" +
            wb.FullName + "\n再点“上传并校验”。网页地址：" + page);
    }

    function submit() {
        var wb = book();
        if (!wb) {
            say("请先打开本镇区的填报表，再点这个按钮。");
            return;
        }
        if (!wb.Path || !wb.Saved) {
            say("请先保存（Ctrl+S）再提交：提交的是保存在电脑上的文件。");
            return;
        }
        var fs = window.wps && wps.FileSystem;
        if (!fs || typeof fs.readAsBinaryString !== "function") {
            submitFallback(wb);
            return;
        }
        var bytes;
        try {
            var text = fs.readAsBinaryString(wb.FullName);
            bytes = new Uint8Array(text.length);
            for (var i = 0; i < text.length; i++) { bytes[i] = text.charCodeAt(i) & 0xff; }
        } catch (e) {
            submitFallback(wb);
            return;
        }
        var form = new FormData();
        form.append("file", new Blob([bytes]), wb.Name);
        send("POST", "/api/submissions", form, null, function (status, json) {
            if (status === 0) {
                say("连接不上市里的服务器，没有提交。请检查网络后重试，或用网页报送。");
                return;
            }
            if (!json) {
                say("服务器没有完成（" + status + "），没有提交。请稍后重试。");
                return;
            }
            if (!json.accepted) {
                say("没有被采用：" + json.message);
                return;
            }
            say(json.passed ? "已提交市里，校验通过。" :
                "已提交市里，但有错误 " + json.errors + " 条、提醒 " + json.warnings +
                " 条。请点“校验本表”看具体位置，改好后保存并重新提交。");
        });
    }

    function about() {
        say("科技招商报表工具（WPS 加载项）\n\n" +
            "校验本表：把当前报表发到市里的服务器检查，在“校验提示”列和“校验结果”表中标出问题。\n" +
            "生成汇总：填写“任务分解”和“载体汇总”。\n" +
            "清除标记：清除上次校验留下的提示。\n" +
            "提交市里：把已保存的报表提交到本轮报送。\n\n" +
            "检查在市科技局的服务器上完成，本机不需要安装 Python。服务器：" + window.location.host);
    }

    function press(id) {
        var what = BUTTONS[id];
        if (what === "about") { about(); }
        else if (what === "submit") { submit(); }
        else if (what) { run(what); }
    }

    return {press: press, image: function (id) { return IMAGES[id] || ""; }, readBook: readBook};
}());

// The ribbon's callbacks (ribbon.xml names them ribbon.*).
var ribbon = {
    OnAddinLoad: function (ui) {
        if (typeof window.Application === "object" && window.Application.ribbonUI === undefined) {
            window.Application.ribbonUI = ui;
        }
        return true;
    },
    OnAction: function (control) {
        XlzWps.press(control.Id);
        return true;
    },
    GetImage: function (control) {
        return XlzWps.image(control.Id);
    }
};
