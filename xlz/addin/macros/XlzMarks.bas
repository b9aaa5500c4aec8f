Attribute VB_Name = "XlzMarks"
' 清除标记: removes what the last check wrote, with no Python, so it also works on a
' PC where Python is missing. Errors are raised to the caller (the ribbon callback
' turns them into a message box; tests see them directly).
Option Explicit

' Runs on the workbook the clerk is looking at, not on this add-in.
Public Sub ClearActive()
    If ActiveWorkbook Is Nothing Then Exit Sub
    ClearFindings ActiveWorkbook
End Sub

Public Sub ClearFindings(ByVal wb As Object)
    Dim sheetName As Variant
    For Each sheetName In Array("项目信息", "孵化载体", "招商活动")
        ClearHintColumn FindSheet(wb, CStr(sheetName))
    Next sheetName
    ClearResults FindSheet(wb, "校验结果")
    ResetStatus FindSheet(wb, "填报说明")
End Sub

' The 校验提示 column: found by its header text in row 1, so inserted or moved
' columns do not matter; cleared from row 2 to the last used row.
Private Sub ClearHintColumn(ByVal ws As Object)
    Dim col As Long
    Dim lastRow As Long
    Dim opts As Variant
    If ws Is Nothing Then Exit Sub
    For col = 1 To LastUsedColumn(ws)
        If CellText(ws.Cells(1, col)) = "校验提示" Then
            lastRow = LastUsedRow(ws)
            If lastRow >= 2 Then
                opts = Unlock(ws)
                ws.Range(ws.Cells(2, col), ws.Cells(lastRow, col)).ClearContents
                Relock ws, opts
            End If
            Exit Sub
        End If
    Next col
End Sub

' The 校验结果 sheet keeps its header row; everything below it goes.
Private Sub ClearResults(ByVal ws As Object)
    Dim lastRow As Long
    Dim opts As Variant
    If ws Is Nothing Then Exit Sub
    lastRow = LastUsedRow(ws)
    If lastRow < 2 Then Exit Sub
    opts = Unlock(ws)
    ws.Range(ws.Cells(2, 1), ws.Cells(lastRow, LastUsedColumn(ws))).ClearContents
    Relock ws, opts
End Sub

' 填报说明 shows the last check's status as label/value pairs: label in column A,
' value in the cell to its right.
Private Sub ResetStatus(ByVal ws As Object)
    Dim r As Long
    Dim label As Variant
    Dim opts As Variant
    If ws Is Nothing Then Exit Sub
    opts = Unlock(ws)
    For r = 1 To LastUsedRow(ws)
        For Each label In Array("校验状态", "校验时间", "错误数", "提醒数")
            If CellText(ws.Cells(r, 1)) = label Then ClearCell ws.Cells(r, 2)
        Next label
    Next r
    Relock ws, opts
End Sub

Private Function FindSheet(ByVal wb As Object, ByVal sheetName As String) As Object
    Dim ws As Object
    For Each ws In wb.Worksheets
        If ws.Name = sheetName Then
            Set FindSheet = ws
            Exit Function
        End If
    Next ws
    Set FindSheet = Nothing
End Function

Private Function CellText(ByVal cell As Object) As String
    Dim v As Variant
    v = cell.Value
    If IsError(v) Or IsEmpty(v) Or IsNull(v) Then
        CellText = ""
    Else
        CellText = Trim$(CStr(v))
    End If
End Function

' Part of a merged area cannot be cleared on its own in Excel.
Private Sub ClearCell(ByVal cell As Object)
    If cell.MergeCells Then
        cell.MergeArea.ClearContents
    Else
        cell.ClearContents
    End If
End Sub

Private Function LastUsedRow(ByVal ws As Object) As Long
    LastUsedRow = ws.UsedRange.Row + ws.UsedRange.Rows.Count - 1
End Function

Private Function LastUsedColumn(ByVal ws As Object) As Long
    LastUsedColumn = ws.UsedRange.Column + ws.UsedRange.Columns.Count - 1
End Function

' Templates protect sheets without a password. Unlock remembers how the sheet was
' protected (Empty if it was not) so Relock can put the same protection back.
Private Function Unlock(ByVal ws As Object) As Variant
    Dim opts(0 To 15) As Boolean
    If Not ws.ProtectContents Then
        Unlock = Empty
        Exit Function
    End If
    opts(0) = ws.ProtectDrawingObjects
    opts(1) = ws.ProtectContents
    opts(2) = ws.ProtectScenarios
    ReadAllowOptions ws, opts
    On Error GoTo Locked
    ws.Unprotect ""
    Unlock = opts
    Exit Function
Locked:
    Err.Raise vbObjectError + 513, "XlzMarks", _
        "工作表“" & ws.Name & "”设置了保护密码，请先撤销工作表保护再清除。"
End Function

' Excel's finer Allow* switches; hosts without ws.Protection (older Excel, LibreOffice)
' keep the defaults.
Private Sub ReadAllowOptions(ByVal ws As Object, ByRef opts() As Boolean)
    On Error Resume Next
    With ws.Protection
        opts(3) = .AllowFormattingCells
        opts(4) = .AllowFormattingColumns
        opts(5) = .AllowFormattingRows
        opts(6) = .AllowInsertingColumns
        opts(7) = .AllowInsertingRows
        opts(8) = .AllowInsertingHyperlinks
        opts(9) = .AllowDeletingColumns
        opts(10) = .AllowDeletingRows
        opts(11) = .AllowSorting
        opts(12) = .AllowFiltering
        opts(13) = .AllowUsingPivotTables
    End With
End Sub

Private Sub Relock(ByVal ws As Object, ByVal opts As Variant)
    If IsEmpty(opts) Then Exit Sub
    On Error GoTo ShortForm
    ws.Protect Password:="", DrawingObjects:=opts(0), Contents:=opts(1), _
        Scenarios:=opts(2), UserInterfaceOnly:=True, _
        AllowFormattingCells:=opts(3), AllowFormattingColumns:=opts(4), _
        AllowFormattingRows:=opts(5), AllowInsertingColumns:=opts(6), _
        AllowInsertingRows:=opts(7), AllowInsertingHyperlinks:=opts(8), _
        AllowDeletingColumns:=opts(9), AllowDeletingRows:=opts(10), _
        AllowSorting:=opts(11), AllowFiltering:=opts(12), _
        AllowUsingPivotTables:=opts(13)
    Exit Sub
ShortForm:
    ' Hosts that know only the first five arguments (LibreOffice) still get the
    ' sheet protected again.
    ws.Protect "", opts(0), opts(1), opts(2), True
End Sub
