//! Parameter checks several Tencent actions share (images, types, names, passwords, disks).

use super::*;

pub(super) fn image_checked(id: &str) -> ApiResult<&'static catalog::Image> {
    if !is_resource_id(id, "img-") {
        return Err(ApiError::new(
            "InvalidImageId.Malformed",
            format!("The image ID `{id}` is malformed."),
        ));
    }
    catalog::image(id).ok_or_else(|| {
        ApiError::new(
            "InvalidImageId.NotFound",
            format!("The image `{id}` is not found."),
        )
    })
}

pub(super) fn instance_type_checked(name: &str) -> ApiResult<&'static catalog::InstanceType> {
    let well_formed = name.split_once('.').is_some_and(|(family, size)| {
        !family.is_empty()
            && !size.is_empty()
            && family
                .chars()
                .all(|c| c.is_ascii_uppercase() || c.is_ascii_digit())
            && size
                .chars()
                .all(|c| c.is_ascii_uppercase() || c.is_ascii_digit())
    }) || (name.starts_with("CDH_") && name.len() > 4);
    if !well_formed {
        return Err(ApiError::new(
            "InvalidInstanceType.Malformed",
            format!("The instance type `{name}` is malformed."),
        ));
    }
    catalog::instance_type(name).ok_or_else(|| {
        ApiError::new(
            "InvalidParameterValue.InstanceTypeNotFound",
            format!("The instance type `{name}` is not found."),
        )
    })
}

pub(super) fn check_instance_name(name: &str) -> ApiResult<()> {
    if name.chars().count() > 60 {
        return Err(ApiError::new(
            "InvalidInstanceName.TooLong",
            "The instance name exceeds 60 characters.",
        ));
    }
    if name.is_empty() {
        return Err(ApiError::invalid_value(
            "InstanceName",
            "the name must not be empty.",
        ));
    }
    Ok(())
}

pub(super) fn check_user_data(p: &Params, key: &str) -> ApiResult<Option<String>> {
    let Some(ud) = p.string(key)? else {
        return Ok(None);
    };
    let decoded = base64::engine::general_purpose::STANDARD
        .decode(ud.as_bytes())
        .map_err(|_| {
            ApiError::new(
                "InvalidParameterValue.InvalidUserDataFormat",
                "UserData must be base64 encoded.",
            )
        })?;
    if decoded.len() > 16 * 1024 {
        return Err(ApiError::new(
            "InvalidParameterValue.TooLarge",
            format!(
                "UserData is {} bytes once decoded, more than the 16 KB allowed.",
                decoded.len()
            ),
        ));
    }
    Ok(Some(ud))
}

pub(super) fn check_host_name(name: &str, windows: bool) -> ApiResult<()> {
    let err = || {
        ApiError::new(
            "InvalidParameterValue.IllegalHostName",
            format!("The host name `{name}` is invalid."),
        )
    };
    let len = name.chars().count();
    let ok_chars = name
        .chars()
        .all(|c| c.is_ascii_alphanumeric() || c == '-' || (c == '.' && !windows));
    let bad_edges = name.starts_with(['.', '-']) || name.ends_with(['.', '-']);
    let bad_runs = name.contains("..") || name.contains("--");
    let range = if windows { 2..=15 } else { 2..=60 };
    if !range.contains(&len)
        || !ok_chars
        || bad_edges
        || bad_runs
        || (windows && name.chars().all(|c| c.is_ascii_digit()))
    {
        return Err(err());
    }
    Ok(())
}

pub(super) fn check_password(pw: &str, windows: bool) -> ApiResult<()> {
    const SPECIAL: &str = "()`~!@#$%^&*-+=_|{}[]:;'<>,.?/";
    let len = pw.chars().count();
    let classes = [
        pw.chars().any(|c| c.is_ascii_lowercase()),
        pw.chars().any(|c| c.is_ascii_uppercase()),
        pw.chars().any(|c| c.is_ascii_digit()),
        pw.chars().any(|c| SPECIAL.contains(c)),
    ]
    .iter()
    .filter(|b| **b)
    .count();
    let only_allowed = pw
        .chars()
        .all(|c| c.is_ascii_alphanumeric() || SPECIAL.contains(c));
    let ok = if windows {
        (12..=30).contains(&len) && classes >= 3
    } else {
        (8..=30).contains(&len) && classes >= 2
    };
    if ok && only_allowed {
        Ok(())
    } else {
        Err(ApiError::new(
            "InvalidPassword",
            if windows {
                "The password must be 12 to 30 characters and contain at least three of: lowercase letters, uppercase letters, digits and special characters."
            } else {
                "The password must be 8 to 30 characters and contain at least two of: lowercase letters, uppercase letters, digits and special characters."
            },
        ))
    }
}

/// LoginSettings for `image`: returns the key ids to remember.
pub(super) fn login_settings(p: &Params, image: &catalog::Image) -> ApiResult<Vec<String>> {
    let windows = image.is_windows();
    let Some(ls) = p.object("LoginSettings")? else {
        return Ok(vec![]);
    };
    ls.check_known(&["Password", "KeyIds", "KeepImageLogin"])?;
    let password = ls.string("Password")?;
    let key_ids = ls.string_list("KeyIds")?.unwrap_or_default();
    let keep = match ls.string("KeepImageLogin") {
        Ok(v) => v.is_some_and(|s| s.eq_ignore_ascii_case("TRUE")),
        Err(_) => ls.boolean("KeepImageLogin")?.unwrap_or(false),
    };
    if password.is_some() && !key_ids.is_empty()
        || keep && (password.is_some() || !key_ids.is_empty())
    {
        return Err(ApiError::new(
            "InvalidParameterCombination",
            "Only one of LoginSettings.Password, LoginSettings.KeyIds and LoginSettings.KeepImageLogin may be given.",
        ));
    }
    // "只有使用自定义镜像、共享镜像或外部导入镜像创建实例时才能指定该参数为true"
    // (tencentcloud-sdk-python-cvm 3.1.178 `LoginSettings.KeepImageLogin`). No dedicated
    // code is documented: `InvalidParameterValue.InvalidImageId` "镜像不允许执行该操作" (the
    // image does not allow this operation; RunInstances and ResetInstance error lists of
    // tencentcloud-sdk-go `cvm/v20170312/client.go`).
    if keep && !image.is_users_own() {
        return Err(ApiError::new(
            "InvalidParameterValue.InvalidImageId",
            format!(
                "LoginSettings.KeepImageLogin needs a custom, shared or imported image; `{}` is a public image.",
                image.id
            ),
        ));
    }
    if let Some(pw) = &password {
        check_password(pw, windows)?;
    }
    for k in &key_ids {
        if !is_resource_id(k, "skey-") {
            return Err(ApiError::new(
                "InvalidKeyPairId.Malformed",
                format!("The key pair ID `{k}` is malformed."),
            ));
        }
    }
    if windows && !key_ids.is_empty() {
        return Err(ApiError::new(
            "UnsupportedOperation.KeyPairUnsupportedWindows",
            "Key pairs are not supported for Windows instances.",
        ));
    }
    Ok(key_ids)
}

pub(super) fn security_group_ids(p: &Params, key: &str) -> ApiResult<Option<Vec<String>>> {
    let Some(sgs) = p.string_list(key)? else {
        return Ok(None);
    };
    for sg in &sgs {
        if !is_resource_id(sg, "sg-") {
            return Err(ApiError::new(
                "InvalidSgId.Malformed",
                format!("The security group ID `{sg}` is malformed."),
            ));
        }
    }
    Ok(Some(sgs))
}

pub(super) const DISK_TYPES: &[&str] = &[
    "LOCAL_BASIC",
    "LOCAL_SSD",
    "CLOUD_BASIC",
    "CLOUD_PREMIUM",
    "CLOUD_SSD",
    "CLOUD_BSSD",
    "CLOUD_HSSD",
    "CLOUD_TSSD",
];

/// The system disk type when RunInstances names none: "默认取值：当前有库存的硬盘类型" (the
/// type in stock; tencentcloud-sdk-python-cvm 3.1.178 `SystemDisk.DiskType`). The emulator
/// has every type in stock and picks the premium cloud disk every zone sells.
pub(super) const DEFAULT_SYSTEM_DISK_TYPE: &str = "CLOUD_PREMIUM";

/// System disk types whose instances ResetInstancesType can change: "目前只支持系统盘类型是
/// CLOUD_BASIC、CLOUD_PREMIUM、CLOUD_SSD、CLOUD_BSSD类型的实例使用该接口进行机型调整"
/// (tencentcloud-sdk-go `cvm/v20170312/client.go` ResetInstancesType doc comment); others
/// are refused with `UnsupportedOperation.SystemDiskType` ("请求不支持该类型系统盘", in its
/// error list).
pub(super) const RESIZABLE_SYSTEM_DISKS: &[&str] =
    &["CLOUD_BASIC", "CLOUD_PREMIUM", "CLOUD_SSD", "CLOUD_BSSD"];

/// SystemDisk: (type, size). `current` is the existing disk for ResetInstance.
pub(super) fn system_disk(p: &Params, current: Option<&Disk>) -> ApiResult<(String, u64)> {
    let default_type = current
        .map(|d| d.disk_type.clone())
        .unwrap_or_else(|| DEFAULT_SYSTEM_DISK_TYPE.to_string());
    let default_size = current.map(|d| d.size_gb).unwrap_or(50);
    let Some(sd) = p.object("SystemDisk")? else {
        return Ok((default_type, default_size));
    };
    sd.check_known(&[
        "DiskType", "DiskId", "DiskSize", "CdcId", "DiskName", "Encrypt", "KmsKeyId",
    ])?;
    let disk_type = sd.string("DiskType")?.unwrap_or(default_type);
    check_enum(&sd, "DiskType", &disk_type, DISK_TYPES)?;
    if let Some(cur) = current
        && cur.disk_type != disk_type
    {
        return Err(ApiError::invalid_value(
            "SystemDisk.DiskType",
            "reinstalling cannot change the system disk type.",
        ));
    }
    let size = sd.int("DiskSize")?.unwrap_or(default_size as i64);
    if !(20..=1024).contains(&size) {
        return Err(ApiError::new(
            "InvalidParameterValue.Range",
            format!("SystemDisk.DiskSize must be between 20 and 1024 GB, got {size}."),
        ));
    }
    if let Some(cur) = current
        && (size as u64) < cur.size_gb
    {
        return Err(ApiError::invalid_value(
            "SystemDisk.DiskSize",
            format!("the system disk cannot shrink below {} GB.", cur.size_gb),
        ));
    }
    Ok((disk_type, size as u64))
}

/// The tag character set (https://cloud.tencent.com/document/product/651/13354, "字符"):
/// Chinese and English letters, digits 0-9, spaces between characters (not at either end),
/// and the special characters `+ - = . _ : / @ ( ) [ ] , ; > <` (English) and
/// `+ - = / @ ( ) 【 】 :` (Chinese input, full-width forms). Anything else is
/// `FailedOperation.IllegalTagKey` / `IllegalTagValue` ("标签键存在不合法字符",
/// tencentcloud-sdk-python-cvm `errorcodes.py`).
/// "支持中英文字符": Chinese (CJK ideographs) and English letters only, not the letters of
/// other scripts.
pub(super) fn tag_chars_ok(s: &str) -> bool {
    const SPECIAL: &str = "+-=._:/@()[],;><＋－＝／＠（）【】：";
    let chinese = |c: char| matches!(c, '\u{4E00}'..='\u{9FFF}' | '\u{3400}'..='\u{4DBF}' | '\u{F900}'..='\u{FAFF}');
    !s.starts_with(' ')
        && !s.ends_with(' ')
        && s.chars()
            .all(|c| c.is_ascii_alphanumeric() || chinese(c) || c == ' ' || SPECIAL.contains(c))
}
