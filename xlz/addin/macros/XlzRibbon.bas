Attribute VB_Name = "XlzRibbon"
' 科技招商 ribbon callbacks (the onAction names in customUI14.xml).
' Each callback only hands over to a Sub that takes no IRibbonControl, so the same
' code can be run from the Macros dialog, from tests, or from another workbook.
' No rule lives here: checking and filling are done by the Python library.
Option Explicit

Public Sub XlzValidate(control As IRibbonControl)
    RunLive "import xlz.live as L; L.validate_active()", "校验本表"
End Sub

Public Sub XlzFill(control As IRibbonControl)
    RunLive "import xlz.live as L; L.fill_active()", "生成汇总"
End Sub

Public Sub XlzClear(control As IRibbonControl)
    On Error GoTo Failed
    ClearActive
    Exit Sub
Failed:
    MsgBox "清除标记没有完成：" & Err.Description, vbExclamation, XLZ_TITLE
End Sub

Public Sub XlzAbout(control As IRibbonControl)
    ShowAbout
End Sub

Public Sub ShowAbout()
    MsgBox "科技招商报表工具 xlz，版本 " & XLZ_VERSION & vbCrLf & vbCrLf & _
        "校验本表：检查当前报表，在“校验提示”列和“校验结果”表中标出问题。" & vbCrLf & _
        "生成汇总：填写“任务分解”和“载体汇总”。" & vbCrLf & _
        "清除标记：清除上次校验留下的提示（不需要 Python）。" & vbCrLf & vbCrLf & _
        "校验和汇总由本机的 Python（xlz 和 xlwings）完成，安装方法见《安装指南》。", _
        vbInformation, XLZ_TITLE
End Sub
