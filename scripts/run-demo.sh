#!/usr/bin/env bash
# The main job on a fresh clone: install, make sure a champion model exists (quick bootstrap on the
# bundled samples), score the last sample night through the Prefect flow, say where everything is,
# then run the service-center web app in the foreground. Safe to rerun: nothing is scored twice.
set -euo pipefail
cd "$(dirname "$0")/.."

bash scripts/setup-env.sh
bash scripts/install-system-deps.sh || echo "提示: 系统依赖安装失败，图表将使用英文标签。" >&2

export HF_HUB_OFFLINE=1 TRANSFORMERS_OFFLINE=1 HF_DATASETS_OFFLINE=1 MPLBACKEND=Agg
export PREFECT_SERVER_ANALYTICS_ENABLED=false
export COMPLAINTS_HOME="${COMPLAINTS_HOME:-$PWD/var}"
export PREFECT_HOME="${PREFECT_HOME:-$COMPLAINTS_HOME/prefect}"
mkdir -p "$COMPLAINTS_HOME"
C=.venv/bin/complaints

step() { printf '\n== %s ==\n' "$1"; }

# The customer-key secret: the code refuses its public default outside tests. The demo makes one
# per machine (owner-only file); production sets COMPLAINTS_CUSTOMER_SECRET from its secret store.
if [ -z "${COMPLAINTS_CUSTOMER_SECRET:-}" ] && [ -z "${COMPLAINTS_CUSTOMER_SECRET_FILE:-}" ]; then
  SECRET_FILE="$COMPLAINTS_HOME/customer-secret"
  if [ ! -s "$SECRET_FILE" ]; then
    (umask 077 && .venv/bin/python -c 'import secrets; print(secrets.token_urlsafe(32))' > "$SECRET_FILE")
  fi
  export COMPLAINTS_CUSTOMER_SECRET_FILE="$SECRET_FILE"
fi

step "数据库结构"
$C db upgrade

step "Prefect 服务"
if API=$($C prefect-server --quiet); then
  export PREFECT_API_URL="$API"
  echo "Prefect API: $PREFECT_API_URL"
else
  echo "提示: 无法启动 Prefect 服务，流程将使用临时内置服务（界面中看不到运行记录）。" >&2
fi

SAMPLE_DIR=data/sample
NIGHT_DIR=$(find "$SAMPLE_DIR" -mindepth 1 -maxdepth 1 -type d -name '20??-??-??' 2>/dev/null | sort | tail -n 1)
if [ -z "$NIGHT_DIR" ]; then
  echo "错误: $SAMPLE_DIR 下没有样例夜（YYYY-MM-DD 目录）。" >&2
  exit 2
fi
NIGHT=$(basename "$NIGHT_DIR")

step "冠军模型（首次运行用样例数据快速训练）"
$C bootstrap --data-dir "$SAMPLE_DIR" --preset quick

step "夜间评分 $NIGHT"
$C run-nightly --source "$NIGHT_DIR" --night "$NIGHT"

UI_BASE=${PREFECT_API_URL:-}
UI_BASE=${UI_BASE%/api}
step "结果在哪里"
cat <<MSG
预警单与来电: 数据库 ${COMPLAINTS_DB_URL:-sqlite:///$COMPLAINTS_HOME/complaints.db}（网页中查看，见下）
夜间报告:     $COMPLAINTS_HOME/reports/$NIGHT/report.md（含图表）
Prefect 界面: ${UI_BASE:-（未启动服务）}  —— 流程运行、任务、摘要与报告 Artifact
MLflow 界面:  .venv/bin/mlflow ui --backend-store-uri sqlite:///$COMPLAINTS_HOME/mlflow.db --port 5000
              然后打开 http://127.0.0.1:5000 （模型版本、冠军/挑战者别名、评估指标）
MSG

if ! $C serve --help >/dev/null 2>&1; then
  echo "网页尚不可用（complaints serve 不存在）。"
  exit 0
fi

step "演示账号"
LOGIN_FILE="$COMPLAINTS_HOME/demo-login.txt"
if [ ! -s "$LOGIN_FILE" ]; then
  PASSWORD=$(.venv/bin/python -c 'import secrets; print(secrets.token_urlsafe(12) + "-" + str(secrets.randbelow(90) + 10))')
  if printf '%s\n' "$PASSWORD" | $C users add demo --role province; then
    printf 'demo %s\n' "$PASSWORD" > "$LOGIN_FILE"
    chmod 600 "$LOGIN_FILE"
  fi
fi
if [ -s "$LOGIN_FILE" ]; then
  read -r USER_NAME USER_PASSWORD < "$LOGIN_FILE"
  echo "用户名: $USER_NAME   密码: $USER_PASSWORD   （保存在 $LOGIN_FILE）"
else
  echo "提示: 已有用户 demo，但没有保存的密码；可用 complaints users add 新建账号。"
fi

step "服务中心网页（Ctrl+C 停止）"
exec $C serve
