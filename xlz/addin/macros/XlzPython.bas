Attribute VB_Name = "XlzPython"
' Calls the xlz Python library through the xlwings add-in that
' "xlwings addin install" puts in Excel's start-up folder. This project holds no
' copy of xlwings' VBA: it calls RunPython in xlwings.xlam by name.
Option Explicit

Public Const XLZ_TITLE As String = "科技招商"
Private Const XLWINGS_ADDIN As String = "xlwings.xlam"

' Runs one line of Python on the active workbook; any failure becomes a message box
' that tells the clerk what to do instead of a VBA error dialog.
Public Sub RunLive(ByVal pythonCode As String, ByVal action As String)
    If ActiveWorkbook Is Nothing Then
        MsgBox "请先打开要处理的报表，再点“" & action & "”。", vbExclamation, XLZ_TITLE
        Exit Sub
    End If
    If Not XlwingsLoaded() Then
        ShowSetupHelp action, "没有找到 xlwings 加载项（xlwings.xlam）。"
        Exit Sub
    End If
    On Error GoTo Failed
    Application.Run XLWINGS_ADDIN & "!RunPython", pythonCode
    Exit Sub
Failed:
    ShowSetupHelp action, "调用 Python 时出错：" & Err.Description & "（错误号 " & Err.Number & "）"
End Sub

' True when xlwings.xlam is open: installed into XLSTART it opens as a workbook,
' ticked in the Add-ins dialog it appears in Application.AddIns. Each way of looking
' is its own function so that an error in one (a host without AddIns, say) just
' means "not found there".
Public Function XlwingsLoaded() As Boolean
    XlwingsLoaded = OpenByName() Or InWorkbooks() Or InAddIns()
End Function

Private Function OpenByName() As Boolean
    On Error GoTo NotFound
    OpenByName = (LCase$(Application.Workbooks(XLWINGS_ADDIN).Name) = XLWINGS_ADDIN)
    Exit Function
NotFound:
    OpenByName = False
End Function

Private Function InWorkbooks() As Boolean
    Dim wb As Object
    On Error GoTo NotFound
    For Each wb In Application.Workbooks
        If LCase$(wb.Name) = XLWINGS_ADDIN Then
            InWorkbooks = True
            Exit Function
        End If
    Next wb
NotFound:
    InWorkbooks = False
End Function

Private Function InAddIns() As Boolean
    Dim ai As Object
    On Error GoTo NotFound
    For Each ai In Application.AddIns
        If LCase$(ai.Name) = XLWINGS_ADDIN Then
            If ai.Installed Then
                InAddIns = True
                Exit Function
            End If
        End If
    Next ai
NotFound:
    InAddIns = False
End Function

Private Sub ShowSetupHelp(ByVal action As String, ByVal reason As String)
    MsgBox "“" & action & "”需要本机的 Python 和 xlwings。" & vbCrLf & vbCrLf & _
        reason & vbCrLf & vbCrLf & _
        "请按以下步骤处理：" & vbCrLf & _
        "1. 安装 Python（3.10 或更新版本）；" & vbCrLf & _
        "2. 在 xlz 源码文件夹中运行：pip install "".[live]""（见《安装指南》）" & vbCrLf & _
        "3. 再运行：xlwings addin install" & vbCrLf & _
        "4. 关闭所有 Excel 窗口，重新打开 Excel。" & vbCrLf & vbCrLf & _
        "如果无法自行完成，请联系单位负责电脑的信息化（IT）人员，并参阅《安装指南》。" & vbCrLf & _
        "“清除标记”不需要 Python，可以直接使用。", _
        vbExclamation, XLZ_TITLE
End Sub
