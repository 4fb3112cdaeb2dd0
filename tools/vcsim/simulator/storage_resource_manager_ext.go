package simulator

// Storage I/O control: StorageResourceManager.ConfigureDatastoreIORM_Task
// and QueryIORMConfigOption, and each datastore's iormConfiguration.
// Limits follow vSphere: a manual congestion threshold of 5-100 ms
// (default 30), an automatic threshold of 50-100 % of peak throughput
// (default 90), modes "automatic" and "manual"; vSAN datastores do not
// support SIOC.

import (
	"github.com/vmware/govmomi/vim25/methods"
	"github.com/vmware/govmomi/vim25/soap"
	"github.com/vmware/govmomi/vim25/types"
)

const (
	iormMinThreshold     = 5
	iormMaxThreshold     = 100
	iormDefaultThreshold = 30
	iormMinPercent       = 50
	iormMaxPercent       = 100
	iormDefaultPercent   = 90
)

// defaultIORMInfo is a new datastore's (SIOC off) configuration.
func defaultIORMInfo() *types.StorageIORMInfo {
	return &types.StorageIORMInfo{
		Enabled:                  false,
		CongestionThresholdMode:  string(types.StorageIORMThresholdModeAutomatic),
		CongestionThreshold:      iormDefaultThreshold,
		PercentOfPeakThroughput:  iormDefaultPercent,
		StatsCollectionEnabled:   types.NewBool(false),
		ReservationEnabled:       types.NewBool(true),
		StatsAggregationDisabled: types.NewBool(false),
		ReservableIopsThreshold:  0,
	}
}

// QueryIORMConfigOption reports the supported SIOC settings.
func (m *StorageResourceManager) QueryIORMConfigOption(ctx *Context, req *types.QueryIORMConfigOption) soap.HasFault {
	body := &methods.QueryIORMConfigOptionBody{}
	if _, ok := Map.Get(req.Host).(*HostSystem); !ok {
		body.Fault_ = Fault("", &types.ManagedObjectNotFound{Obj: req.Host})
		return body
	}
	body.Res = &types.QueryIORMConfigOptionResponse{Returnval: types.StorageIORMConfigOption{
		EnabledOption:                types.BoolOption{Supported: true, DefaultValue: false},
		CongestionThresholdOption:    types.IntOption{Min: iormMinThreshold, Max: iormMaxThreshold, DefaultValue: iormDefaultThreshold},
		StatsCollectionEnabledOption: &types.BoolOption{Supported: true, DefaultValue: false},
		ReservationEnabledOption:     &types.BoolOption{Supported: true, DefaultValue: true},
	}}
	return body
}

// ConfigureDatastoreIORMTask validates and applies a StorageIORMConfigSpec;
// unset fields keep their current value.
func (m *StorageResourceManager) ConfigureDatastoreIORMTask(ctx *Context, req *types.ConfigureDatastoreIORM_Task) soap.HasFault {
	task := CreateTask(m, "configureDatastoreIORM", func(*Task) (types.AnyType, types.BaseMethodFault) {
		ds, ok := Map.Get(req.Datastore).(*Datastore)
		if !ok {
			return nil, &types.ManagedObjectNotFound{Obj: req.Datastore}
		}
		if ds.Capability.StorageIORMSupported != nil && !*ds.Capability.StorageIORMSupported {
			return nil, &types.IORMNotSupportedHostOnDatastore{Datastore: ds.Self, DatastoreName: ds.Name}
		}
		if !ds.Summary.Accessible {
			return nil, &types.InaccessibleDatastore{InvalidDatastore: types.InvalidDatastore{Datastore: &ds.Self, Name: ds.Name}}
		}
		info, fault := applyIORMSpec(ds.IormConfiguration, &req.Spec)
		if fault != nil {
			return nil, fault
		}
		Map.Update(ds, []types.PropertyChange{{Name: "iormConfiguration", Val: info}})
		return nil, nil
	})
	return &methods.ConfigureDatastoreIORM_TaskBody{
		Res: &types.ConfigureDatastoreIORM_TaskResponse{Returnval: task.Run()},
	}
}

// applyIORMSpec returns cur updated by spec, or an InvalidArgument naming
// the bad field.
func applyIORMSpec(cur *types.StorageIORMInfo, spec *types.StorageIORMConfigSpec) (*types.StorageIORMInfo, types.BaseMethodFault) {
	info := *defaultIORMInfo()
	if cur != nil {
		info = *cur
	}
	invalid := func(field string) types.BaseMethodFault {
		return &types.InvalidArgument{InvalidProperty: "spec." + field}
	}
	switch types.StorageIORMThresholdMode(spec.CongestionThresholdMode) {
	case "":
	case types.StorageIORMThresholdModeAutomatic, types.StorageIORMThresholdModeManual:
		info.CongestionThresholdMode = spec.CongestionThresholdMode
	default:
		return nil, invalid("congestionThresholdMode")
	}
	if spec.CongestionThreshold != 0 {
		if spec.CongestionThreshold < iormMinThreshold || spec.CongestionThreshold > iormMaxThreshold {
			return nil, invalid("congestionThreshold")
		}
		info.CongestionThreshold = spec.CongestionThreshold
	}
	if spec.PercentOfPeakThroughput != 0 {
		if spec.PercentOfPeakThroughput < iormMinPercent || spec.PercentOfPeakThroughput > iormMaxPercent {
			return nil, invalid("percentOfPeakThroughput")
		}
		info.PercentOfPeakThroughput = spec.PercentOfPeakThroughput
	}
	if spec.ReservableIopsThreshold < 0 {
		return nil, invalid("reservableIopsThreshold")
	}
	if spec.ReservableIopsThreshold != 0 {
		info.ReservableIopsThreshold = spec.ReservableIopsThreshold
	}
	if spec.Enabled != nil {
		info.Enabled = *spec.Enabled
	}
	for _, f := range []struct{ dst, src **bool }{
		{&info.StatsCollectionEnabled, &spec.StatsCollectionEnabled},
		{&info.ReservationEnabled, &spec.ReservationEnabled},
		{&info.StatsAggregationDisabled, &spec.StatsAggregationDisabled},
	} {
		if *f.src != nil {
			*f.dst = types.NewBool(**f.src)
		}
	}
	return &info, nil
}
